"""Read side of geography: the per-process locate index, point details, grid GeoJSON, regions, duty grids."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import shapely
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityloop.geo.index import GridIndex
from cityloop.geo.models import DutyGrid, DutyGridInspector, GeoState, Region, UnitGrid
from cityloop.org.models import User
from cityloop.shared.errors import Invalid
from cityloop.state import AppState

CHECK_SECONDS = 2.0  # how stale a worker's index may be after another process changed the grids
_lock = threading.Lock()


def grid_version(session: Session) -> int:
    """The current grid version (bumped on every grid change)."""
    return session.scalar(select(GeoState.version).where(GeoState.id == 1)) or 0


def build_index(session: Session) -> GridIndex:
    """Build the locate index from the unit-grid table."""
    version = grid_version(session)
    rows = session.execute(select(UnitGrid.code, UnitGrid.geometry, UnitGrid.duty_grid_code, UnitGrid.community_code,
                                  UnitGrid.street_code, UnitGrid.district_code).order_by(UnitGrid.code)).all()
    cols: list[Sequence[Any]] = list(zip(*rows)) if rows else [[]] * 6
    geoms = shapely.from_geojson(np.array(cols[1], dtype=object)) if rows else np.array([], dtype=object)
    fallback, area_name = _region_index(session, version)
    return GridIndex(cols[0], geoms, cols[2], cols[3], cols[4], cols[5], version=version, fallback=fallback,
                     area_name=area_name)


def town_duty_grid_code(street_code: str) -> str:
    """The duty grid of a town's inspectors, who verify cases placed in its villages (属地)."""
    return f"{street_code}ZR"


def _region_index(session: Session, version: int) -> tuple[GridIndex | None, str | None]:
    """An index over village, town and district boundaries (most specific first) and the districts' name."""
    rows = session.execute(select(Region.code, Region.level, Region.name, Region.geometry)
                           .where(Region.level.in_(("community", "street", "district")))).all()
    area_name = "、".join(sorted(n for _, level, n, _ in rows if level == "district")) or None
    shaped = sorted(((c, g) for c, level, _, g in rows if g), key=lambda r: (-len(r[0]), r[0]))
    if not shaped:
        return None, area_name
    towns = {c[:9] for c, _ in shaped if len(c) >= 9}
    staffed = set(session.scalars(select(DutyGrid.code).where(DutyGrid.code.in_([town_duty_grid_code(t)
                                                                                 for t in towns]))))
    codes = [c for c, _ in shaped]
    duty = [town_duty_grid_code(c[:9]) if len(c) >= 9 and town_duty_grid_code(c[:9]) in staffed else None
            for c in codes]
    geoms = shapely.from_geojson(np.array([g for _, g in shaped], dtype=object))
    return GridIndex(codes, geoms, duty, codes, [c[:9] for c in codes], [c[:6] for c in codes],
                     version=version), area_name


def fresh_index(state: AppState) -> GridIndex | None:
    """This app's index if it was checked against the stored grid version within CHECK_SECONDS, else None
    (then get_index checks it; this never blocks)."""
    index = state.grid_index
    return index if index is not None and time.monotonic() - state.grid_checked < CHECK_SECONDS else None


def get_index(state: AppState) -> GridIndex:
    """This app's index, rebuilt when the stored grid version moved (checked at most every CHECK_SECONDS)."""
    index = fresh_index(state)
    if index is not None:
        return index
    with _lock:
        index = state.grid_index
        with state.read_session_factory() as session:  # never the write session: a request may hold it
            version = grid_version(session)
            if index is None or index.version != version:
                index = build_index(session)
        state.grid_index, state.grid_checked = index, time.monotonic()
    return index


def invalidate(state: AppState) -> None:
    """Forget this app's index (after this process changed the grids)."""
    state.grid_checked = 0.0


def names(session: Session, codes: list[str]) -> dict[str, str]:
    """Region names by code."""
    return dict(session.execute(select(Region.code, Region.name).where(Region.code.in_(codes))).all())


def inspectors_of(session: Session, duty_grid_code: str | None) -> list[str]:
    """Usernames of the inspectors who patrol a duty grid."""
    if not duty_grid_code:
        return []
    return list(session.scalars(select(User.username).join(DutyGridInspector, DutyGridInspector.user_id == User.id)
                                .where(DutyGridInspector.duty_grid_code == duty_grid_code).order_by(User.username)))


def place_detail(session: Session, index: GridIndex, lon: float, lat: float) -> dict[str, Any] | None:
    """Everything locate() answers for one WGS84 point, or None outside every grid."""
    place = index.locate(lon, lat)
    if place is None:
        return None
    named = names(session, [place.community_code, place.street_code, place.district_code])
    duty = session.get(DutyGrid, place.duty_grid_code) if place.duty_grid_code else None
    return {
        "lon": lon, "lat": lat, "grid_code": place.grid_code,
        "duty_grid_code": place.duty_grid_code, "duty_grid_name": duty.name if duty else None,
        "community_code": place.community_code, "community_name": named.get(place.community_code),
        "street_code": place.street_code, "street_name": named.get(place.street_code),
        "district_code": place.district_code, "district_name": named.get(place.district_code),
        "inspectors": inspectors_of(session, place.duty_grid_code),
    }


def grids_geojson(session: Session, filters: dict[str, Any], limit: int) -> dict[str, Any] | None:
    """Unit grids as a GeoJSON FeatureCollection, or None when more than `limit` match."""
    stmt = select(UnitGrid)
    for key, col in (("community", UnitGrid.community_code), ("street", UnitGrid.street_code),
                     ("district", UnitGrid.district_code), ("duty_grid", UnitGrid.duty_grid_code)):
        if filters.get(key):
            stmt = stmt.where(col == filters[key])
    rows = list(session.scalars(stmt.order_by(UnitGrid.code).limit(limit + 1)))
    if len(rows) > limit:
        return None
    bbox = filters.get("bbox")
    if bbox:
        geoms = shapely.from_geojson(np.array([g.geometry for g in rows], dtype=object)) if rows else []
        keep = shapely.intersects(shapely.box(*bbox), geoms) if rows else []
        rows = [g for g, k in zip(rows, keep) if k]
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": g.code, "geometry": json.loads(g.geometry),
         "properties": {"code": g.code, "duty_grid_code": g.duty_grid_code, "community_code": g.community_code,
                        "street_code": g.street_code, "district_code": g.district_code, "area_m2": g.area_m2}}
        for g in rows]}


def regions(session: Session, level: str | None, parent: str | None) -> list[dict[str, Any]]:
    """Regions, optionally one level or the children of one region."""
    stmt = select(Region).order_by(Region.code)
    if level:
        stmt = stmt.where(Region.level == level)
    if parent:
        stmt = stmt.where(Region.parent_code == parent)
    counts = dict(session.execute(select(UnitGrid.community_code, func.count()).group_by(UnitGrid.community_code)).all())
    return [{"code": r.code, "name": r.name, "level": r.level, "parent_code": r.parent_code,
             "has_boundary": bool(r.geometry), "unit_grids": counts.get(r.code, 0) if r.level == "community" else None}
            for r in session.scalars(stmt)]


def duty_grids(session: Session, district: str | None) -> list[dict[str, Any]]:
    """Duty grids with their inspectors and how many unit grids each holds."""
    stmt = select(DutyGrid).order_by(DutyGrid.code)
    if district:
        stmt = stmt.where(DutyGrid.district_code == district)
    counts = dict(session.execute(select(UnitGrid.duty_grid_code, func.count()).group_by(UnitGrid.duty_grid_code)).all())
    staff: dict[str, list[str]] = {}
    for code, username in session.execute(select(DutyGridInspector.duty_grid_code, User.username)
                                          .join(User, User.id == DutyGridInspector.user_id).order_by(User.username)):
        staff.setdefault(code, []).append(username)
    return [{"code": d.code, "name": d.name, "district_code": d.district_code, "unit_grids": counts.get(d.code, 0),
             "inspectors": staff.get(d.code, [])} for d in session.scalars(stmt)]


def duty_grids_geojson(session: Session, district: str | None) -> dict[str, Any]:
    """Duty grids as polygons dissolved from their unit grids (for overview maps)."""
    stmt = select(UnitGrid.duty_grid_code, UnitGrid.geometry).where(UnitGrid.duty_grid_code.is_not(None))
    if district:
        stmt = stmt.where(UnitGrid.district_code == district)
    parts: dict[str, list[str]] = {}
    for code, geometry in session.execute(stmt):
        if code is not None:  # the query asks for those with a duty grid
            parts.setdefault(code, []).append(geometry)
    names = dict(session.execute(select(DutyGrid.code, DutyGrid.name)).all())
    features = []
    for code, geoms in sorted(parts.items()):
        shape = shapely.coverage_union_all(shapely.from_geojson(np.array(geoms, dtype=object)))
        features.append({"type": "Feature", "id": code, "geometry": json.loads(shapely.to_geojson(shape)),
                         "properties": {"code": code, "name": names.get(code, code), "unit_grids": len(geoms)}})
    return {"type": "FeatureCollection", "features": features}


def regions_geojson(session: Session, level: str, parent: str | None) -> dict[str, Any]:
    """Region boundaries of one level as GeoJSON (those that have a boundary)."""
    stmt = select(Region).where(Region.level == level, Region.geometry.is_not(None)).order_by(Region.code)
    if parent:
        stmt = stmt.where(Region.parent_code == parent)
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": r.code, "geometry": json.loads(r.geometry),
         "properties": {"code": r.code, "name": r.name, "level": r.level, "region_class": r.region_class}}
        for r in session.scalars(stmt) if r.geometry is not None]}  # the query asks for those with a boundary


def outside_text(locate: object) -> tuple[str, str]:
    """The refusal for a point outside the district, in words a citizen understands (no coordinates, no codes)."""
    name = getattr(getattr(locate, "__self__", locate), "area_name", None)
    if name:
        return (f"该位置不在{name}范围内，请在地图上重新选择位置",
                f"This place is outside {name}; choose the place again on the map")
    return ("该位置不在本辖区范围内，请在地图上重新选择位置", "This place is outside our area; choose the place again on the map")


def outside_error(locate: object) -> Invalid:
    """A 422 problem for a point outside the district (see outside_text)."""
    return Invalid("outside-district", *outside_text(locate))
