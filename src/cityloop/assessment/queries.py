"""Read side: who the evaluated objects are (names, peer groups), the cases behind a figure, and the analysis
queries (hot spots, sources) over a period's projection rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session, aliased

from cityloop.assessment.figures import KINDS, PEOPLE_ROLES, REGION_DIGITS
from cityloop.assessment.models import CaseStat
from cityloop.cases.api import STAGES, Case
from cityloop.catalog.models import Category
from cityloop.config import Settings
from cityloop.geo.models import Region, UnitGrid
from cityloop.org.models import Department, User, UserRole

GROUP_NAMES = {
    "department:class1": ("一级部门（县直部门）", "Class-1 departments"),
    "department:class2": ("二级单位（乡镇街道）", "Class-2 units (towns)"),
    "department:center": ("指挥中心", "Command center"),
    "region:class1": ("一类区域", "Class-1 areas"), "region:class2": ("二类区域", "Class-2 areas"),
}
STAGE_NAMES: dict[str, str] = {str(stage): zh for stage, (zh, _) in STAGES.items()}


@dataclass
class Objects:
    """The objects of a kind: name and peer group by key, and which keys are listed even without cases."""

    names: dict[int, str] = field(default_factory=dict)
    groups: dict[int, str] = field(default_factory=dict)
    listed: set[int] = field(default_factory=set)


def group_name(kind: str, group: str) -> tuple[str, str]:
    """A peer group's label (zh, en)."""
    prefix = "department" if kind == "department" else "region" if kind in REGION_DIGITS else None
    if prefix is None:
        return KINDS[kind].zh, KINDS[kind].en
    return GROUP_NAMES.get(f"{prefix}:{group}", (group, group))


def objects(session: Session, kind: str, keys: set[int], memo: dict[str, Any] | None = None) -> Objects:
    """Names and groups for a kind's objects (the listed ones plus `keys`, the ones with cases); `memo` keeps
    the region tables between kinds of one computation."""
    out = Objects()
    if kind == "department":
        for did, name, group, active in session.execute(select(Department.id, Department.name, Department.group,
                                                               Department.active)):
            out.names[did], out.groups[did] = name, group
            if active:
                out.listed.add(did)
    elif kind in REGION_DIGITS:
        _regions(session, kind, keys, out, {} if memo is None else memo)
    else:
        role = PEOPLE_ROLES[kind]
        rows = session.execute(select(User.id, User.display_name, User.active, UserRole.role)
                               .outerjoin(UserRole, (UserRole.user_id == User.id) & (UserRole.role == role))
                               .where((UserRole.role == role) | User.id.in_(keys)))
        for uid, name, active, has_role in rows:
            out.names[uid], out.groups[uid] = name, kind
            if active and has_role:
                out.listed.add(uid)
    return out


def _regions(session: Session, level: str, keys: set[int], out: Objects, memo: dict[str, Any]) -> None:
    """Regions that have unit grids (listed) with the class of their own row (a grid: its community's)."""
    digits = REGION_DIGITS[level]
    if "regions" not in memo:
        rows = session.execute(select(Region.code, Region.name, Region.region_class)).all()
        memo["regions"] = ({c: n for c, n, _ in rows}, {c: k for c, _, k in rows},
                           [code for code in session.scalars(select(UnitGrid.code)) if code.isdigit()])
    names, classes, grids = memo["regions"]
    with_grids = {int(code[:digits]) for code in grids}
    for key in with_grids | keys:
        code = str(key).zfill(digits)
        if level == "grid":
            out.names[key] = f"{names.get(code[:12], code[:12])} {code[-3:]}"
            out.groups[key] = f"class{classes.get(code[:12], 1)}"
        else:
            out.names[key] = names.get(code, code)
            out.groups[key] = f"class{classes.get(code, 1)}"
        if level != "grid":
            out.listed.add(key)


def grid_classes(session: Session) -> dict[int, int]:
    """Every unit grid (as an integer code) with the class of its community (一类/二类区域)."""
    classes = dict(session.execute(select(Region.code, Region.region_class)
                                   .where(Region.level == "community")).all())
    return {int(code): classes.get(community, 1) for code, community in
            session.execute(select(UnitGrid.code, UnitGrid.community_code)) if code.isdigit()}


def case_rows(session: Session, case_ids: list[int]) -> dict[int, dict[str, Any]]:
    """What a drill-down list shows of each case."""
    dept = aliased(Department)
    stmt = (select(Case.id, Case.number, Case.stage, Case.source, Case.category_code, Category.name, Case.grid_code,
                   dept.name, Case.created_at, Case.closed_at, Case.node_due_at)
            .join(Category, Category.id == Case.category_id).outerjoin(dept, dept.id == Case.department_id)
            .where(Case.id.in_(case_ids)))
    out: dict[int, dict[str, Any]] = {}
    for cid, number, stage, source, code, cat, grid, dept_name, created, closed, due in session.execute(stmt):
        out[cid] = {"id": cid, "number": number, "stage": stage, "stage_name": STAGE_NAMES[stage], "source": source,
                    "category_code": code, "category_name": cat, "grid_code": grid, "department_name": dept_name,
                    "created_at": created, "closed_at": closed, "node_due_at": due}
    return out


def _in_period(start_ts: int, end_ts: int) -> ColumnElement[bool]:
    return (CaseStat.assess_ts >= start_ts) & (CaseStat.assess_ts < end_ts)


def category_names(session: Session, settings: Settings, codes: list[str]) -> dict[str, str]:
    """Matter names of the deployment's catalog."""
    return dict(session.execute(select(Category.code, Category.name).where(
        Category.standard == settings.catalog_standard, Category.kind == "matter", Category.code.in_(codes))).all())


def top_counts(session: Session, start_ts: int, end_ts: int, columns: tuple[str, ...], limit: int) -> list[tuple[Any, ...]]:
    """(values…, cases) of the most frequent combinations of columns in a period."""
    cols = [getattr(CaseStat, c) for c in columns]
    n = func.count().label("n")
    stmt = (select(*cols, n).where(_in_period(start_ts, end_ts)).group_by(*cols)
            .order_by(n.desc(), *cols).limit(limit))
    return [tuple(r) for r in session.execute(stmt)]
