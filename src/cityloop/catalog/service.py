"""Catalog use cases: load a standard or a local table (idempotent), import component instances, read helpers."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from cityloop.catalog.domain import (
    CATEGORY_COLUMNS, CJT, COMPONENT_COLUMNS, CONDITION_COLUMNS, GBT, CatalogError, CategorySpec, ConditionSpec,
    attach_conditions, bbox, complete, default_position, distance_m, legacy_catalog, local_catalog, matter_code,
    parse_categories,
    parse_components, read_csv,
)
from cityloop.catalog.models import Category, Component, FilingCondition
from cityloop.catalog.schemas import CategoryOut, ComponentOut, ConditionOut
from cityloop.geo.models import UnitGrid
from cityloop.org.models import Department
from cityloop.shared.errors import Invalid, NotFound
from cityloop.sla.domain import LimitError, parse_limit

DATA = Path(__file__).parent / "data"
CHUNK = 500  # bound parameters per IN (...) query; SQLite has a limit


@dataclass
class LoadReport:
    """What a catalog load did."""

    standard: str
    components: int = 0
    matters: int = 0
    conditions: int = 0
    created: int = 0
    updated: int = 0
    deactivated: int = 0
    conditions_created: int = 0
    conditions_updated: int = 0
    conditions_deleted: int = 0


T = TypeVar("T")


def _table(path: Path, columns: tuple[str, ...], parse: Callable[..., T], *args: Any) -> T:
    """Read a UTF-8 CSV file and parse its rows; any problem is a 422 naming the file and the line."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Invalid("bad-encoding", f"{path.name} 不是 UTF-8 编码的 CSV 文件", f"{path.name} is not UTF-8 CSV") from exc
    except OSError as exc:
        raise Invalid("file-unreadable", f"无法读取文件 {path}：{exc.strerror}",
                      f"cannot read {path}: {exc.strerror}") from exc
    try:
        return parse(read_csv(text, columns), *args)
    except CatalogError as exc:
        raise Invalid("bad-catalog-file", f"{path.name} 第 {exc.line} 行：{exc.zh}",
                      f"{path.name} line {exc.line}: {exc.en}", file=path.name, line=exc.line) from exc


def catalog_specs(standard: str, path: Path | None = None) -> list[CategorySpec]:
    """The whole validated table of a standard (or of a local file), before anything is written."""
    if path is not None:
        return complete(local_catalog(_table(Path(path), CATEGORY_COLUMNS, parse_categories)))
    if standard == GBT:
        specs = _table(DATA / "gbt47678_5_2026_components_matters.csv", CATEGORY_COLUMNS, parse_categories)
        return complete(_table(DATA / "conditions_gbt47678.csv", CONDITION_COLUMNS, attach_conditions, specs))
    if standard == CJT:
        components = _table(DATA / "cjt214_2007_components.csv", CATEGORY_COLUMNS, parse_categories)
        events = _table(DATA / "cjt214_2007_events.csv", CATEGORY_COLUMNS, parse_categories)
        return complete(legacy_catalog(components, events))
    raise Invalid("unknown-standard", f"未知的标准“{standard}”，可选 {GBT} 或 {CJT}，或用本地目录文件",
                  f"Unknown standard {standard!r}: use {GBT} or {CJT}, or give a local file")


def _assign(obj: object, values: dict[str, Any]) -> bool:
    """Set the attributes that differ; True if any did (so a second load reports no change)."""
    changed = False
    for key, value in values.items():
        if getattr(obj, key) != value:
            setattr(obj, key, value)
            changed = True
    return changed


def _sync_conditions(session: Session, cat: Category, specs: list[ConditionSpec], report: LoadReport) -> None:
    current = {c.code: c for c in cat.conditions}
    wanted = []
    default = default_position(specs)
    for position, spec in enumerate(specs):
        values = dict(description=spec.description, limit_value=spec.limit_value, limit_unit=spec.limit_unit,
                      urgent=spec.urgent, closing_condition=spec.closing_condition, is_default=position == default,
                      position=position)
        cond = current.pop(spec.code, None)
        if cond is None:
            cond = FilingCondition(code=spec.code, **values)
            report.conditions_created += 1
        elif _assign(cond, values):
            report.conditions_updated += 1
        wanted.append(cond)
    kept = []
    if current:  # conditions no longer in the table: delete, unless cases point at them
        from cityloop.cases.api import Case

        used = set(session.scalars(select(Case.filing_condition_id).where(
            Case.filing_condition_id.in_([c.id for c in current.values()]))))
        kept = [c for c in current.values() if c.id in used]
        for position, cond in enumerate(kept, start=len(wanted)):
            _assign(cond, dict(is_default=False, position=position))
        report.conditions_deleted += len(current) - len(kept)
    if wanted + kept != list(cat.conditions):
        cat.conditions = wanted + kept  # delete-orphan removes the others


def load_catalog(session: Session, standard: str = GBT, path: Path | None = None) -> LoadReport:
    """Load one standard, or a local CSV file under the name `standard`, idempotently; commits once."""
    if not standard or len(standard) > 32 or "\x00" in standard:
        raise Invalid("bad-standard-name", "目录名称应为 1–32 个字", "The catalog name must have 1-32 characters")
    specs = catalog_specs(standard, path)
    report = LoadReport(standard)
    existing = {(c.kind, c.code): c for c in session.scalars(select(Category).where(Category.standard == standard))}
    for spec in specs:
        values = dict(major_code=spec.major_code, major_name=spec.major_name, name=spec.name,
                      component_code=spec.component_code, is_local=path is not None, active=True,
                      closing_condition=spec.conditions[0].closing_condition if spec.conditions else None)
        cat = existing.pop((spec.kind, spec.code), None)
        if cat is None:
            cat = Category(standard=standard, kind=spec.kind, code=spec.code, **values)
            session.add(cat)
            report.created += 1
        elif _assign(cat, values):
            report.updated += 1
        _sync_conditions(session, cat, spec.conditions, report)
        report.components += spec.kind == "component"
        report.matters += spec.kind == "matter"
        report.conditions += len(spec.conditions)
    for cat in existing.values():  # no longer in the table; cases may still name it, so deactivate
        report.deactivated += _assign(cat, {"active": False})
    session.commit()
    return report


def _fetch(session: Session, stmt: Select[Any], column: InstrumentedAttribute[Any], keys: Iterable[Any]) -> list[Any]:
    """stmt filtered by column IN keys, in chunks."""
    keys = sorted(set(keys))
    return [row for i in range(0, len(keys), CHUNK)
            for row in session.scalars(stmt.where(column.in_(keys[i:i + CHUNK])))]


def import_components(session: Session, path: Path, admin_code: str, standard: str = GBT) -> int:
    """Load surveyed component instances (部件普查) from CSV; every row valid or nothing is written; commits once."""
    specs = _table(Path(path), COMPONENT_COLUMNS, parse_components, admin_code)
    types = {c.code: c for c in _fetch(session, select(Category).where(
        Category.standard == standard, Category.kind == "component"), Category.code, [s.type_code for s in specs])}
    dept_codes = [s.cells.get(k) for s in specs for k in ("owner", "maintainer", "competent") if s.cells.get(k)]
    depts = {d.code: d.id for d in _fetch(session, select(Department), Department.code, dept_codes)}
    grids = set(_fetch(session, select(UnitGrid.code), UnitGrid.code, [s.cells["grid_code"] for s in specs
                                                                        if s.cells.get("grid_code")]))
    for s in specs:
        problems = [(f"未知的部门代码 {s.cells[key]}（{key}）", f"unknown department {s.cells[key]} ({key})")
                    for key in ("owner", "maintainer", "competent") if s.cells.get(key) and s.cells[key] not in depts]
        if s.cells.get("grid_code") and s.cells["grid_code"] not in grids:
            problems.insert(0, (f"未知的单元网格 {s.cells['grid_code']}", f"unknown unit grid {s.cells['grid_code']}"))
        if s.type_code not in types:
            problems.insert(0, (f"未知的部件类型代码 {s.type_code}（{standard}）",
                                f"unknown component type {s.type_code} in {standard}"))
        if problems:
            name = Path(path).name
            raise Invalid("bad-component-file", f"{name} 第 {s.line} 行：{problems[0][0]}",
                          f"{name} line {s.line}: {problems[0][1]}", file=name, line=s.line)
    existing = {c.id: c for c in _fetch(session, select(Component), Component.id, [s.id for s in specs])}
    changes: list[tuple[str, Component]] = []
    for s in specs:
        cat = types[s.type_code]
        values = dict(category_id=cat.id, name=s.cells.get("name") or cat.name[:30], lon=s.lon, lat=s.lat,
                      state=s.cells.get("state") or "完好", grid_code=s.cells.get("grid_code") or None,
                      owner_department_id=depts.get(s.cells.get("owner")),
                      maintainer_department_id=depts.get(s.cells.get("maintainer")),
                      competent_department_id=depts.get(s.cells.get("competent")), initial_date=s.initial_date,
                      data_source=s.cells.get("data_source") or None, note=s.cells.get("note") or None)
        if s.id in existing:
            if _assign(existing[s.id], values):
                changes.append(("update", existing[s.id]))
        else:
            changes.append(("create", Component(id=s.id, **values)))
            session.add(changes[-1][1])
    if changes:  # 部件普查 changes go up to the upper platform with this commit (exchange outbox)
        from cityloop.exchange.records import on_component_changes

        on_component_changes(session, changes, {v: k for k, v in depts.items()}, datetime.now(timezone.utc))
    session.commit()
    return len(specs)


def _category_out(cat: Category, admin_code: str = "") -> CategoryOut:
    conditions = [ConditionOut(code=c.code, description=c.description, limit=f"{c.limit_value}{c.limit_unit}",
                               urgent=c.urgent, is_default=c.is_default, closing_condition=c.closing_condition)
                  for c in cat.conditions] if cat.kind == "matter" else []
    return CategoryOut(code=cat.code, kind=cat.kind, major_code=cat.major_code, major_name=cat.major_name,
                       name=cat.name, name_en=cat.name_en, component_code=cat.component_code, is_local=cat.is_local,
                       closing_condition=cat.closing_condition, conditions=conditions,
                       sxdm=matter_code(admin_code, cat.code) if cat.kind == "matter" else None)


def list_categories(session: Session, standard: str, kind: str | None = None, major: str | None = None,
                    q: str | None = None, admin_code: str = "") -> list[CategoryOut]:
    """Active categories of a standard, filtered by kind, major class and a name substring."""
    stmt = select(Category).where(Category.standard == standard, Category.active.is_(True))
    if kind:
        stmt = stmt.where(Category.kind == kind)
    if major:
        stmt = stmt.where(Category.major_code == major)
    if q:
        stmt = stmt.where(Category.name.contains(q, autoescape=True))
    return [_category_out(c, admin_code) for c in session.scalars(stmt.order_by(Category.kind, Category.code))]


def get_category(session: Session, standard: str, code: str, kind: str = "matter", admin_code: str = "") -> CategoryOut:
    """One active category with its conditions, or 404."""
    cat = session.scalar(select(Category).where(Category.standard == standard, Category.kind == kind,
                                                Category.code == code, Category.active.is_(True)))
    if cat is None:
        raise NotFound("category-not-found", f"{standard} 中没有代码为 {code} 的{'事项' if kind == 'matter' else '部件'}",
                       f"No {kind} {code} in {standard}")
    return _category_out(cat, admin_code)


def _components_out(session: Session, rows: Sequence[tuple[Component, float | None]]) -> list[ComponentOut]:
    cats = {c.id: c for c in _fetch(session, select(Category), Category.id, [c.category_id for c, _ in rows])}
    dept_ids = [i for c, _ in rows for i in (c.owner_department_id, c.maintainer_department_id,
                                            c.competent_department_id) if i]
    depts = {d.id: d.code for d in _fetch(session, select(Department), Department.id, dept_ids)}
    return [ComponentOut(id=c.id, type_code=cats[c.category_id].code, type_name=cats[c.category_id].name, name=c.name,
                         state=c.state, lon=c.lon, lat=c.lat, grid_code=c.grid_code,
                         owner_department=depts.get(c.owner_department_id),
                         maintainer_department=depts.get(c.maintainer_department_id),
                         competent_department=depts.get(c.competent_department_id), initial_date=c.initial_date,
                         change_date=c.change_date, data_source=c.data_source, note=c.note,
                         distance_m=None if d is None else round(d, 1)) for c, d in rows]


def list_components(session: Session, grid: str | None = None, type_code: str | None = None,
                    near: tuple[float, float] | None = None, radius_m: float = 200, page: int = 1,
                    size: int = 50) -> tuple[list[ComponentOut], int]:
    """Component instances by grid and type, or the nearest first within radius_m of near=(lon, lat)."""
    stmt = select(Component)
    if grid:
        stmt = stmt.where(Component.grid_code == grid)
    if type_code:
        stmt = stmt.where(Component.category_id.in_(select(Category.id).where(Category.code == type_code)))
    if near is None:
        total = session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
        items = session.scalars(stmt.order_by(Component.id).offset((page - 1) * size).limit(size))
        return _components_out(session, [(c, None) for c in items]), total
    west, south, east, north = bbox(near[0], near[1], radius_m)
    stmt = stmt.where(Component.lon.between(west, east), Component.lat.between(south, north))
    hits = sorted(((c, distance_m(near[0], near[1], c.lon, c.lat)) for c in session.scalars(stmt)),
                  key=lambda hit: (hit[1], hit[0].id))
    hits = [h for h in hits if h[1] <= radius_m]
    return _components_out(session, hits[(page - 1) * size:page * size]), len(hits)


def get_component(session: Session, component_id: str) -> ComponentOut:
    """One component instance, or 404."""
    comp = session.get(Component, component_id)
    if comp is None:
        raise NotFound("component-not-found", f"部件 {component_id} 不存在", f"Component {component_id} not found")
    return _components_out(session, [(comp, None)])[0]


def update_condition(session: Session, standard: str, code: str, condition_code: str, changes: dict[str, Any],
                     admin_code: str = "") -> CategoryOut:
    """Change one filing condition's limit, urgency or texts (a local edit; `catalog load` restores the table)."""
    cat = session.scalar(select(Category).where(Category.standard == standard, Category.kind == "matter",
                                                Category.code == code, Category.active.is_(True)))
    cond = next((c for c in cat.conditions if c.code == condition_code), None) if cat else None
    if cat is None or cond is None:
        raise NotFound("condition-not-found", f"事项 {code} 没有立案条件 {condition_code}",
                       f"Matter {code} has no filing condition {condition_code}")
    if "limit" in changes:
        try:
            cond.limit_value, cond.limit_unit = parse_limit(changes.pop("limit"))
        except LimitError as exc:
            raise Invalid("bad-limit", str(exc), str(exc)) from exc
    for field in ("description", "closing_condition", "urgent"):
        if changes.get(field) is not None:
            setattr(cond, field, changes[field])
    if changes.get("is_default"):
        for other in cat.conditions:
            other.is_default = other is cond
    session.commit()
    return _category_out(cat, admin_code)
