"""Demo data of the channels: a SYNTHETIC gazetteer of the county seat (road lines and POI names placed at made-up
places in the urban grids, plus the real towns and communities), the 723 site cameras of the seeds, tracking codes for the
history's public reports, and today's patrol tracks of the inspectors."""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import exists, insert, select
from sqlalchemy.orm import Session

from cityloop.cases.api import Case
from cityloop.channels import gazetteer
from cityloop.channels.domain import new_tracking_code
from cityloop.channels.models import Camera, ChannelReport, GazetteerEntry, PositionPing
from cityloop.config import Settings
from cityloop.demo.regions import urban_communities
from cityloop.geo.models import DutyGridInspector, Region, UnitGrid
from cityloop.places.demo import build_roads

# Common street and place names of Chinese county seats; where they are put is invented (see docs/channels.md).
# Roads are lines across the urban grids (places/demo.py): even positions run west–east, odd ones south–north.
ROADS = ["永阳路", "建设路", "人民路", "来安路", "永阳大道", "迎宾大道", "新安路", "解放路", "文化路", "广场路", "健康路",
         "龙山路", "花园路", "东大街", "西大街", "南大街", "北大街", "工业路", "商贸路", "学府路"]
POIS = [("县人民医院", "县医院"), ("县中医院", None), ("第一中学", "一中"), ("实验小学", None), ("汽车站", "客运站"),
        ("人民广场", None), ("城北农贸市场", "菜市场"), ("县政务服务中心", "政务中心"), ("体育馆", None), ("图书馆", None),
        ("城东公园", None), ("新华书店", None), ("火车站", None), ("县人民政府", "县政府"), ("滨河公园", None)]
CAMERAS = 723  # 工地视频 channels in the seeds


def _point_in(geom: BaseGeometry, rng: random.Random) -> tuple[float, float]:
    x0, y0, x1, y1 = geom.bounds
    for _ in range(50):
        x, y = rng.uniform(x0, x1), rng.uniform(y0, y1)
        if geom.contains(shapely.Point(x, y)):
            return round(x, 6), round(y, 6)
    p = geom.representative_point()
    return round(p.x, 6), round(p.y, 6)


def build_gazetteer(session: Session, grids: list[UnitGrid], rng: random.Random) -> int:
    """Towns and communities from the region table; schematic road lines with door plates and POIs on the urban
    grids."""
    count = gazetteer.load_regions(session)
    if not grids:
        return count
    shapes = [shapely.from_geojson(g.geometry) for g in grids]
    town = session.get(Region, grids[0].street_code)
    roads, plates = build_roads(session, tuple(shapely.total_bounds(shapes)), ROADS, town.name if town else None)
    for name, alias in POIS:
        x, y = _point_in(rng.choice(shapes), rng)
        session.add(GazetteerEntry(name=name, kind="poi", alias=alias, address=town.name if town else "来安县城（示意）",
                                   lon=x, lat=y, source="synthetic"))
    return count + roads + plates + len(POIS)


def build_cameras(session: Session, grids: list[UnitGrid], rng: random.Random, now: datetime) -> None:
    """The construction-site video channels, spread over the urban grids."""
    rows = []
    for n in range(1, CAMERAS + 1):
        grid = rng.choice(grids)
        x, y = _point_in(shapely.from_geojson(grid.geometry), rng)
        site = (n - 1) // 4 + 1  # about four channels per site
        rows.append(dict(code=f"CAM-{n:04d}", name=f"工地{site:03d}-{(n - 1) % 4 + 1}号", site=f"建筑工地 {site:03d}",
                         lon=x, lat=y, grid_code=grid.code, duty_grid_code=grid.duty_grid_code, active=True,
                         created_at=now))
    session.execute(insert(Camera), rows)


def build_tracking_codes(session: Session) -> int:
    """Every public report of the history gets its tracking code."""
    has_code = exists().where(ChannelReport.case_id == Case.id)
    cases = list(session.execute(select(Case.id, Case.created_at).where(Case.source == "public", ~has_code)))
    codes: set[str] = set()
    while len(codes) < len(cases):
        codes.add(new_tracking_code())
    if cases:
        session.execute(insert(ChannelReport), [
            dict(case_id=i, channel="public", tracking_code=c, attributes={}, category_guessed=False, created_at=at)
            for (i, at), c in zip(cases, sorted(codes))])
    return len(cases)


def build_tracks(session: Session, settings: Settings, grids: list[UnitGrid], rng: random.Random, now: datetime) -> None:
    """Each inspector walks their duty grid today from 08:00 (yesterday's day when it is not yet 09:00)."""
    zone = ZoneInfo(settings.timezone)
    local = now.astimezone(zone)
    day = local.date() if local.hour >= 9 else local.date() - timedelta(days=1)
    start = datetime.combine(day, time(8, 0), zone)
    end = min(now, datetime.combine(day, time(18, 0), zone))
    by_duty: dict[str | None, list[UnitGrid]] = {}
    for g in grids:
        by_duty.setdefault(g.duty_grid_code, []).append(g)
    rows = []
    for duty, user_id in session.execute(select(DutyGridInspector.duty_grid_code, DutyGridInspector.user_id)):
        cells = by_duty.get(duty) or []
        if not cells:
            continue
        at = start
        while at < end:
            if not (12 <= at.astimezone(zone).hour < 14):  # lunch break
                grid = rng.choice(cells)
                x, y = _point_in(shapely.from_geojson(grid.geometry), rng)
                rows.append(dict(user_id=user_id, lon=x, lat=y, accuracy_m=round(rng.uniform(3, 15), 1),
                                 grid_code=grid.code, at=at, received_at=at))
            at += timedelta(minutes=5)
    if rows:
        session.execute(insert(PositionPing), rows)


def build(session: Session, settings: Settings, now: datetime) -> None:
    """Called by `cityloop demo` once the county and its history exist."""
    rng = random.Random(311)
    grids = list(session.scalars(select(UnitGrid).where(UnitGrid.community_code.in_(urban_communities()))
                                 .order_by(UnitGrid.code)))  # the county seat, not the village cells
    build_gazetteer(session, grids, rng)
    if grids:
        build_cameras(session, grids, rng, now)
        build_tracks(session, settings, grids, rng, now)
    build_tracking_codes(session)
    session.commit()
