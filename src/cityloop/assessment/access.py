"""Who sees which assessment rows: the command center sees everything; a department only its own row, an
inspector only his own."""

from __future__ import annotations

from cityloop.org.actor import Actor
from cityloop.shared.errors import Forbidden

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
    """Analysis, reports and period status are for the command center."""
    if not actor.has(*CITYWIDE):
        raise Forbidden("assessment-citywide", "仅指挥中心人员可查看", "Only command center staff may see this")


def only_own(rows: list[dict], key: int | None) -> list[dict]:
    """The rows an actor may see."""
    return rows if key is None else [r for r in rows if r["object_id"] == key]
