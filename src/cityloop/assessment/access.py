"""Who sees which assessment rows: the command center sees everything; a department only its own row, an
inspector only his own; in city mode a district center's staff only their district's units, areas and staff."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from cityloop.org.actor import Actor
from cityloop.org.models import Department, User
from cityloop.shared.errors import Forbidden, NotFound
from sqlalchemy.orm import Session

CITYWIDE = frozenset({"leader", "shift_lead", "dispatcher", "operator", "admin"})
PUBLISHERS = ("leader", "admin")


def own_key(actor: Actor, kind: str) -> int | None:
    """None when the actor sees every object of the kind; else the one object key he may see (403 otherwise)."""
    if actor.has(*CITYWIDE):
        return None
    if kind == "department" and "department" in actor.roles and actor.department_id is not None:
        return actor.department_id
    if kind == "inspector" and "inspector" in actor.roles and actor.id is not None:
        return actor.id
    raise Forbidden("assessment-scope", "无权查看该类考核结果：部门只能查看本部门，监督员只能查看本人",
                    "Departments see only their own department's row, inspectors only their own")


def require_citywide(actor: Actor) -> None:
    """Analysis, reports, period status and publishing are for the (city) command center."""
    if not actor.has(*CITYWIDE):
        raise Forbidden("assessment-citywide", "仅指挥中心人员可查看", "Only command center staff may see this")
    if district_of(actor):
        raise Forbidden("assessment-city-center", "区县分中心只能查看本区县的考核排名，分析、报告与发布由市级中心负责",
                        "A district center sees its district's rankings; analysis, reports and publishing are the "
                        "city center's")


def district_of(actor: Actor) -> str | None:
    """City mode: the district a district center's staff are scoped to (None: the city center, admins, others)."""
    if actor.has("admin") or not actor.has(*CITYWIDE):
        return None
    return actor.district_code or None


REGION_KINDS = frozenset({"district", "street", "community", "grid"})
STAFF_KINDS = frozenset({"inspector", "operator", "shift_lead", "dispatcher"})


def district_keys(session: Session, kind: str, district: str | None) -> set[int] | None:
    """The object keys of a kind inside a district (None: no district scope). Areas by code prefix, departments by
    their territory (the district's 属地 units), staff by their district center."""
    if district is None or kind in REGION_KINDS:
        return None
    if kind == "department":
        return set(session.scalars(select(Department.id).where(Department.territory_code.startswith(district))))
    if kind in STAFF_KINDS:
        return set(session.scalars(select(User.id).where(User.district_code == district)))
    return set()


def in_district(session: Session, kind: str, rows: list[dict[str, Any]], district: str | None) -> list[dict[str, Any]]:
    """The rows of a district (all rows for the city center)."""
    if district is None:
        return rows
    if kind in REGION_KINDS:
        return [r for r in rows if str(r["object_id"]).startswith(district)]
    keys = district_keys(session, kind, district) or set()  # a set: the district is given, the kind no region
    return [r for r in rows if r["object_id"] in keys]


def check_in_district(session: Session, kind: str, key: int, district: str | None) -> None:
    """404 for an object outside the actor's district (no hint that it exists)."""
    if district is None:
        return
    inside = (str(key).startswith(district) if kind in REGION_KINDS
              else key in (district_keys(session, kind, district) or set()))
    if not inside:
        raise NotFound("unknown-object", f"评价对象 {key} 不存在", f"No {kind} {key}")


def only_own(rows: list[dict[str, Any]], key: int | None) -> list[dict[str, Any]]:
    """The rows an actor may see."""
    return rows if key is None else [r for r in rows if r["object_id"] == key]
