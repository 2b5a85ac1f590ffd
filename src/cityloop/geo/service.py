"""Geography use cases: import regions and unit grids, generate grids, form duty grids and staff them.

Every change to unit or duty grids bumps geo_state.version so each worker rebuilds its locate index.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import shapely
from pyproj import Geod
from shapely import STRtree
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from cityloop.catalog.models import Component
from cityloop.geo.coords import gauss_kruger
from cityloop.geo.domain import CELL_M, GridError, cell_size_for, cut_community, grid_code, level_of, parent_code, split_balanced
from cityloop.geo.models import DutyGrid, DutyGridInspector, GeoState, Region, UnitGrid
from cityloop.geo.queries import town_duty_grid_code
from cityloop.org.models import User
from cityloop.shared.errors import Conflict, Invalid

LEVEL_ORDER = ("district", "street", "community", "grid")
LEVEL_ZH = {"district": "区县", "street": "街道/乡镇", "community": "社区/村", "grid": "单元网格"}
MAX_ERRORS = 20


def bump_version(session: Session) -> None:
    """Tell every worker that grids changed."""
    session.execute(update(GeoState).where(GeoState.id == 1).values(version=GeoState.version + 1))


@dataclass
class ImportReport:
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LEVEL_ORDER, 0))
    placeholders: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Feature:
    code: str
    level: str
    name: str
    geometry: shapely.Geometry
    duty_grid: str | None


def _parse(doc: object) -> list[_Feature]:
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection" or not isinstance(doc.get("features"), list):
        raise Invalid("not-a-feature-collection", "文件应为 GeoJSON FeatureCollection", "Expected a GeoJSON FeatureCollection")
    features, errors, seen = [], [], set()
    for n, feat in enumerate(doc["features"], 1):
        props = (feat.get("properties") if isinstance(feat, dict) else None) or {}
        code = str(props.get("code", "")).strip()
        level = level_of(code)
        problem = None
        if level is None:
            problem = "code 应为 6/9/12/15 位数字 (区县/街道/社区/单元网格) / code must have 6, 9, 12 or 15 digits"
        elif code in seen:
            problem = f"代码 {code} 重复 / duplicate code"
        geom = None
        if problem is None:
            try:
                geom = shapely.from_geojson(json.dumps(feat.get("geometry")))
            except (shapely.errors.GEOSException, TypeError, ValueError):
                geom = None
            if geom is not None and not geom.is_valid:
                geom = shapely.make_valid(geom)
            if geom is not None:
                geom = shapely.union_all([p for p in shapely.get_parts(geom) if p.geom_type == "Polygon"])
            if geom is None or geom.is_empty:
                problem = "缺少有效的面几何 (Polygon/MultiPolygon) / no valid polygon geometry"
        if problem or level is None:  # no level is a problem
            errors.append(f"#{n} {code or '?'}: {problem}")
            continue
        seen.add(code)
        duty = props.get("duty_grid")
        features.append(_Feature(code, level, str(props.get("name") or code)[:100], geom,
                                 str(duty)[:32] if duty else None))
    if errors:
        more = f" …(+{len(errors) - MAX_ERRORS})" if len(errors) > MAX_ERRORS else ""
        text = "; ".join(errors[:MAX_ERRORS]) + more
        raise Invalid("bad-geojson", f"GeoJSON 有 {len(errors)} 处错误：{text}", f"{len(errors)} bad features: {text}",
                      errors=errors[:MAX_ERRORS])
    return features


def _geodesic_area(geom: shapely.Geometry) -> float:
    return abs(Geod(ellps="GRS80").geometry_area_perimeter(geom)[0])


def _ensure_region(session: Session, code: str, report: ImportReport) -> None:
    """Create a region (and its parents) without a boundary when a grid file names one we don't have."""
    if session.get(Region, code) is not None:
        return
    parent = parent_code(code)
    if parent:
        _ensure_region(session, parent, report)
    level = level_of(code)
    if level is None:  # a parent's code always has a level
        raise ValueError(f"not a region code: {code!r}")
    session.add(Region(code=code, level=level, name=f"{LEVEL_ZH[level]}{code}", parent_code=parent))
    session.flush()
    report.placeholders.append(code)


def import_features(session: Session, doc: object) -> ImportReport:
    """Import districts, streets, communities and unit grids from one GeoJSON (the code's length says which)."""
    features = sorted(_parse(doc), key=lambda f: (LEVEL_ORDER.index(f.level), f.code))
    report = ImportReport()
    for f in features:
        geometry = shapely.to_geojson(f.geometry)
        parent = parent_code(f.code)
        if parent:
            _ensure_region(session, parent, report)
        if f.level == "grid":
            if f.duty_grid and session.get(DutyGrid, f.duty_grid) is None:
                session.add(DutyGrid(code=f.duty_grid, name=f.duty_grid, district_code=f.code[:6]))
                session.flush()
            grid = session.get(UnitGrid, f.code) or UnitGrid(code=f.code)
            grid.community_code, grid.street_code, grid.district_code = f.code[:12], f.code[:9], f.code[:6]
            grid.duty_grid_code, grid.area_m2, grid.geometry = f.duty_grid, _geodesic_area(f.geometry), geometry
            session.add(grid)
        else:
            region = session.get(Region, f.code) or Region(code=f.code, level=f.level)
            region.name, region.parent_code, region.geometry = f.name, parent, geometry
            session.add(region)
        session.flush()
        report.counts[f.level] += 1
    bump_version(session)
    session.commit()
    return report


@dataclass
class GenerateReport:
    grids: dict[str, int] = field(default_factory=dict)
    cell_m: dict[str, float] = field(default_factory=dict)


def generate_grids(session: Session, community_codes: list[str], cell_m: float = CELL_M) -> GenerateReport:
    """Cut each community into ≈cell_m² unit grids (replacing its old ones; duty grids carry over by position)."""
    codes = list(dict.fromkeys(community_codes))
    regions = {r.code: r for r in session.scalars(select(Region).where(Region.code.in_(codes)))}
    bad = [c for c in codes if c not in regions or regions[c].level != "community" or not regions[c].geometry]
    if bad or not codes:
        raise Invalid("unknown-community", f"以下社区不存在或没有边界：{', '.join(bad) or '(空)'}",
                      f"Unknown communities or communities without a boundary: {', '.join(bad) or '(none)'}")
    used = session.scalar(select(func.count(Component.id)).join(UnitGrid, UnitGrid.code == Component.grid_code)
                          .where(UnitGrid.community_code.in_(codes)))
    if used:
        raise Conflict("grids-in-use", f"有 {used} 个部件引用这些社区的单元网格，不能重新生成",
                       f"{used} components reference these communities' unit grids; they cannot be regenerated")
    shapes = {c: shapely.from_geojson(regions[c].geometry) for c in codes}
    to_m, to_deg = gauss_kruger(shapely.centroid(shapely.union_all(list(shapes.values()))).x)
    report = GenerateReport()
    for code in codes:
        metric = shapely.transform(shapes[code], to_m)
        size = cell_size_for(metric.area, cell_m)
        try:
            cells = cut_community(metric, size)
            codes_new = [grid_code(code, i) for i in range(1, len(cells) + 1)]
        except GridError as exc:
            raise Invalid("grid-generation", f"社区 {code}：{exc}", f"community {code}: {exc}") from exc
        duty = _old_duty(session, code, [shapely.transform(c.geometry.point_on_surface(), to_deg) for c in cells])
        session.execute(delete(UnitGrid).where(UnitGrid.community_code == code))
        session.add_all(UnitGrid(code=gc, community_code=code, street_code=code[:9], district_code=code[:6],
                                 duty_grid_code=d, area_m2=round(c.geometry.area, 1),
                                 geometry=shapely.to_geojson(shapely.transform(c.geometry, to_deg)))
                        for gc, c, d in zip(codes_new, cells, duty))
        report.grids[code], report.cell_m[code] = len(cells), size
    bump_version(session)
    session.commit()
    return report


RURAL_CELL_M = 1000.0  # village-level cells for the countryside


def generate_rural(session: Session, prefix: str, cell_m: float = RURAL_CELL_M) -> GenerateReport:
    """Grid the villages under a town or district coarsely (≈cell_m cells) where no unit grid exists yet; each
    town's new cells join the town's duty grid (属地), created when missing."""
    gridded = select(UnitGrid.community_code).distinct()
    codes = list(session.scalars(select(Region.code).where(
        Region.level == "community", Region.code.startswith(prefix), Region.geometry.is_not(None),
        Region.code.notin_(gridded)).order_by(Region.code)))
    if not codes:
        return GenerateReport()
    report = generate_grids(session, codes, cell_m)
    towns = {r.code: r.name for r in session.scalars(select(Region).where(Region.code.in_({c[:9] for c in codes})))}
    for town in sorted({c[:9] for c in codes}):
        duty = town_duty_grid_code(town)
        if session.get(DutyGrid, duty) is None:
            session.add(DutyGrid(code=duty, name=f"{towns.get(town, town)}责任网格", district_code=town[:6]))
    session.flush()
    for code in codes:
        session.execute(update(UnitGrid).where(UnitGrid.community_code == code)
                        .values(duty_grid_code=town_duty_grid_code(code[:9])))
    bump_version(session)
    session.commit()
    return report


def _old_duty(session: Session, community: str, points: list[shapely.Geometry]) -> list[str | None]:
    old = session.execute(select(UnitGrid.geometry, UnitGrid.duty_grid_code)
                          .where(UnitGrid.community_code == community)).all()
    if not old or not points:
        return [None] * len(points)
    tree = STRtree(shapely.from_geojson(np.array([g for g, _ in old])))
    pi, gi = tree.query(np.array(points, dtype=object), predicate="intersects")
    duty: list[str | None] = [None] * len(points)
    for p, g in zip(pi, gi):
        duty[p] = duty[p] or old[g][1]
    return duty


def assign_duty_grids(session: Session, district_code: str, count: int,
                      inspectors: list[list[int]] | None = None) -> list[DutyGrid]:
    """Split a district's unit grids into `count` compact duty grids of similar size, optionally staffed."""
    town = f"{district_code}___ZR"  # a town's duty grid (town_duty_grid_code) keeps its village cells
    ours = UnitGrid.duty_grid_code.is_(None) | UnitGrid.duty_grid_code.not_like(town)
    rows = session.execute(select(UnitGrid.code, UnitGrid.geometry).where(UnitGrid.district_code == district_code, ours)
                           .order_by(UnitGrid.code)).all()
    if inspectors is not None and len(inspectors) != count:
        raise Invalid("inspector-groups", "监督员分组数应等于责任网格数", "Give one inspector group per duty grid")
    centres = shapely.centroid(shapely.from_geojson(np.array([g for _, g in rows], dtype=object))) if rows else []
    try:
        labels = split_balanced(shapely.get_x(centres), shapely.get_y(centres), count)
    except GridError as exc:
        raise Invalid("duty-grid-split", str(exc), str(exc)) from exc
    codes = [f"{district_code}ZR{i:02d}" for i in range(1, count + 1)]
    session.execute(update(UnitGrid).where(UnitGrid.district_code == district_code, ours).values(duty_grid_code=None))
    stale = select(DutyGrid.code).where(DutyGrid.district_code == district_code, DutyGrid.code.notin_(codes),
                                        DutyGrid.code.not_like(town))
    session.execute(delete(DutyGridInspector).where(DutyGridInspector.duty_grid_code.in_(stale)))
    session.execute(delete(DutyGrid).where(DutyGrid.code.in_(stale)))
    duty = []
    for i, code in enumerate(codes):
        row = session.get(DutyGrid, code) or DutyGrid(code=code, district_code=district_code)
        row.name = f"第{i + 1}责任网格"
        session.add(row)
        duty.append(row)
    session.flush()
    session.execute(update(UnitGrid), [{"code": c, "duty_grid_code": codes[label]}
                                       for (c, _), label in zip(rows, labels)])
    if inspectors is not None:
        for code, ids in zip(codes, inspectors):
            _staff(session, code, ids)
    bump_version(session)
    session.commit()
    return duty


def _staff(session: Session, duty_grid_code: str, user_ids: list[int]) -> None:
    session.execute(delete(DutyGridInspector).where(DutyGridInspector.duty_grid_code == duty_grid_code))
    session.add_all(DutyGridInspector(duty_grid_code=duty_grid_code, user_id=u) for u in dict.fromkeys(user_ids))
    session.flush()


def set_inspectors(session: Session, duty_grid_code: str, usernames: list[str]) -> list[str]:
    """Replace the inspectors (监督员) who patrol a duty grid."""
    if session.get(DutyGrid, duty_grid_code) is None:
        raise Invalid("unknown-duty-grid", f"责任网格 {duty_grid_code} 不存在", f"Unknown duty grid {duty_grid_code}")
    users = {u.username: u for u in session.scalars(select(User).where(User.username.in_(usernames)))}
    bad = [n for n in usernames if n not in users or "inspector" not in users[n].role_names]
    if bad:
        raise Invalid("not-an-inspector", f"以下用户不是监督员：{', '.join(bad)}", f"Not inspectors: {', '.join(bad)}")
    _staff(session, duty_grid_code, [users[n].id for n in usernames])
    session.commit()
    return list(dict.fromkeys(usernames))
