"""Demo data of public services, all inside the county seat's unit grids: public toilets (31 free ones with drinking
water, from the surveyed 公共厕所 components), 52 red stations with service kits, convenience points, water
dispensers, benches and bins, a few hundred QR placements with scans, two months of 便民服务 records, and one
running 追呼 campaign on a 非法小广告 case. Names and places are SYNTHETIC."""

from __future__ import annotations

import random
from collections import Counter
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import shapely
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.catalog.models import Category, Component
from cityloop.config import Settings
from cityloop.demo.regions import urban_communities
from cityloop.geo.models import DutyGridInspector, UnitGrid
from cityloop.org.models import User
from cityloop.public import domain, placements
from cityloop.public.models import CallAttempt, CallCampaign, ConvenienceRecord, QrPlacement, ServicePoint

KIT = ["饮用水", "雨伞", "充电宝", "急救箱", "针线包", "老花镜", "轮椅", "地图", "微波炉", "应急药品"]
FREE_TOILETS_WITH_WATER = 31
RED_STATIONS = 52
SHOPS = {"food": ["面馆", "快餐店", "早点铺"], "lodging": ["宾馆", "酒店"], "shopping": ["超市", "便利店"],
         "medical": ["社区卫生服务站", "药房"], "transit": ["公交站", "出租车候客点"]}
STORIES = [("directions", "为外地游客指路", 1, None, None), ("directions", "帮助老人查找公交线路", 2, None, None),
           ("lost_found", "巡查中拾到失物", 1, "钱包（内有身份证）", None), ("lost_found", "群众交来遗失物品", 1, "手机一部", None),
           ("lost_person", "帮助走失儿童找到家长", 1, None, "家长"), ("lost_person", "走失老人送回家中", 1, None, "派出所民警"),
           ("escort_hospital", "护送突发不适的老人就医", 1, None, None), ("other", "帮助摊主搬运物品", 3, None, None)]


def _point(geometry: str, rng: random.Random) -> tuple[float, float]:
    shape = shapely.from_geojson(geometry)
    x0, y0, x1, y1 = shape.bounds
    for _ in range(30):
        x, y = rng.uniform(x0, x1), rng.uniform(y0, y1)
        if shape.contains(shapely.Point(x, y)):
            return round(x, 6), round(y, 6)
    p = shape.representative_point()
    return round(p.x, 6), round(p.y, 6)


def _add(session: Session, now: datetime, grid: UnitGrid, rng: random.Random, **fields: Any) -> ServicePoint:
    lon, lat = _point(grid.geometry, rng)
    point = ServicePoint(lon=lon, lat=lat, grid_code=grid.code, community_code=grid.community_code, created_at=now,
                         updated_at=now, **{"free": True, "drinking_water": False, "accessible": False,
                                            "state": "active", **fields})
    session.add(point)
    return point


def _points(session: Session, grids: list[UnitGrid], rng: random.Random, now: datetime) -> list[ServicePoint]:
    by_code = {g.code: g for g in grids}
    toilets = session.execute(select(Component.id, Component.grid_code).join(Category)
                              .where(Category.code == "03001", Component.grid_code.in_(by_code))
                              .order_by(Component.id)).all()
    toilet_grids: list[tuple[str | None, UnitGrid]] = [(cid, by_code[g]) for cid, g in toilets if g is not None]
    toilet_grids += [(None, rng.choice(grids)) for _ in range(max(0, 40 - len(toilet_grids)))]
    made = []
    for i, (component_id, grid) in enumerate(toilet_grids, 1):
        water = i <= FREE_TOILETS_WITH_WATER
        made.append(_add(session, now, grid, rng, code=f"GC{i:03d}", kind="toilet", name=f"第{i}号公厕",
                         component_id=component_id, hours="24h" if i % 4 == 0 else "05:30-22:30",
                         free=water or i % 3 != 0, drinking_water=water, accessible=i % 2 == 0))
    for i in range(1, RED_STATIONS + 1):
        made.append(_add(session, now, rng.choice(grids), rng, code=f"HS{i:03d}", kind="red_station",
                         name=f"红色驿站·{i}号", hours="08:00-20:00", drinking_water=True, accessible=True,
                         kit=rng.sample(KIT, 6), phone=f"0550-5{i:06d}"))
    for i in range(1, 13):
        made.append(_add(session, now, rng.choice(grids), rng, code=f"BM{i:03d}", kind="convenience",
                         name=f"网格便民服务点·{i}", hours="08:00-18:00", kit=["指路", "失物招领", "寻人求助"]))
    for i in range(1, 21):
        made.append(_add(session, now, rng.choice(grids), rng, code=f"YS{i:03d}", kind="water", name=f"直饮水点·{i}",
                         hours="06:00-22:00", drinking_water=True))
    for kind, names in SHOPS.items():
        for i in range(1, 7):
            made.append(_add(session, now, rng.choice(grids), rng, kind=kind, name=f"{rng.choice(names)}（示意）{i}",
                             hours="07:00-21:00"))
    bins = session.execute(select(Component.id, Component.grid_code).join(Category)
                           .where(Category.code == "03005", Component.grid_code.in_(by_code))
                           .order_by(Component.id).limit(300)).all()
    for cid, g in bins:  # grid_code IN (…): never None
        if g is None:
            continue
        _add(session, now, by_code[g], rng, kind="bin", name="果皮箱", component_id=cid)
    for i in range(1, 61):
        _add(session, now, rng.choice(grids), rng, kind="bench", name=f"街头座椅·{i}", state="repair" if i % 9 == 0
             else "active")
    session.flush()
    return made


def _placements(session: Session, grids: list[UnitGrid], points: list[ServicePoint], rng: random.Random,
                now: datetime) -> None:
    rows = [{"label": f"服务指南 {g.code[-6:]}", "lon": x, "lat": y, "grid_code": g.code, "batch": "演示批次"}
            for g in grids[::8] for x, y in [_point(g.geometry, rng)]]
    rows += [{"label": p.name, "lon": p.lon, "lat": p.lat, "grid_code": p.grid_code, "batch": "驿站与公厕",
              "service_point_id": p.id} for p in points if p.kind in ("red_station", "toilet")]
    codes = placements.create_many(session, rows, now)
    for placement in session.scalars(select(QrPlacement).where(QrPlacement.code.in_(codes[:900]))):
        placement.scans = rng.choice([0, 0, 1, 3, 8, 15, 40])
        placement.last_scan_at = now - timedelta(hours=rng.randint(1, 400)) if placement.scans else None


def _records(session: Session, grids: list[UnitGrid], rng: random.Random, now: datetime, tz: ZoneInfo) -> None:
    staff = session.execute(select(User.id, User.display_name).join(DutyGridInspector,
                                                                    DutyGridInspector.user_id == User.id)).all()
    if not staff:
        return
    for i in range(140):
        kind, text, people, items, handed = rng.choice(STORIES)
        day = (now - timedelta(days=rng.randint(0, 60))).astimezone(tz).date()
        at = datetime.combine(day, time(rng.randint(7, 19), rng.randint(0, 59)), tz)  # on patrol, by day
        if at > now:
            continue
        user_id, name = rng.choice(staff)
        lon, lat = _point(rng.choice(grids).geometry, rng)
        claimed = items and rng.random() < 0.7
        session.add(ConvenienceRecord(kind=kind, at=at, lon=lon, lat=lat, people=people, description=text, items=items,
                                      handed_to=handed, claimed_at=at + timedelta(hours=5) if claimed else None,
                                      claimed_by="失主（已核验身份证）" if claimed else None,
                                      thanks_letters=1 if i % 17 == 0 else 0, banners=1 if i % 45 == 0 else 0,
                                      recorded_by=user_id, recorded_by_name=name, created_at=at))


def _campaign(session: Session, settings: Settings, grids: list[UnitGrid], rng: random.Random, now: datetime) -> None:
    """A 非法小广告 case three days old whose number has been called on schedule since, still running."""
    from cityloop.cases import api as cases_api
    from cityloop.geo.queries import build_index
    from cityloop.public.campaigns import plan_of
    from cityloop.sla.service import calendar

    if session.scalar(select(Category.id).where(Category.code == "07001", Category.kind == "matter")) is None:
        return
    cal = calendar(session, settings)
    started = now - timedelta(days=3)
    lon, lat = _point(rng.choice(grids).geometry, rng)
    case = cases_api.open_case(session, settings, cal, started, build_index(session).locate, source="inspector",
                                category_code="07001", lon=lon, lat=lat, key="demo-public-ads-1",
                                description="电线杆上张贴“办证”小广告，留有电话号码（演示）")
    plan = plan_of(settings)
    campaign = CallCampaign(case_id=case.id, phone="13900001234", status="running", started_by=None,
                            started_by_name="受理员（演示）", started_at=started, calls=0, answered=0,
                            plan={"levels": [list(x) for x in plan.levels], "max_days": plan.max_days,
                                  "max_calls": plan.max_calls, "min_gap_minutes": plan.min_gap_minutes})
    session.add(campaign)
    session.flush()
    cases_api.note(session, settings, cal, started, case.id, "追呼开始（演示）：139****1234",
                    {"call_campaigns": [campaign.id]})
    times: list[datetime] = []
    while True:  # replay the dialer: call at each due time until now
        state = domain.CampaignState(started_at=started, calls=len(times), last_call_at=times[-1] if times else None,
                                     calls_by_day=Counter(t.astimezone(cal.tz).date() for t in times))
        nxt = domain.next_call(state, times[-1] if times else started, cal, plan)
        if nxt.kind != "call" or nxt.at is None or nxt.at > now:  # a call always has its time
            campaign.next_call_at = nxt.at
            break
        result = rng.choices(["answered", "no_answer", "busy", "rejected"], [2, 5, 1, 2])[0]
        session.add(CallAttempt(campaign_id=campaign.id, at=nxt.at, level=nxt.level, day_no=nxt.day_no,
                                recording=settings.public_call_recordings.get(str(nxt.level), "warning"),
                                result=result, duration_s=22.0 if result == "answered" else 0.0))
        times.append(nxt.at)
        campaign.calls, campaign.answered = len(times), campaign.answered + (result == "answered")
        campaign.last_call_at = nxt.at


def build(session: Session, settings: Settings, now: datetime) -> None:
    """Add the public services demo data (urban unit grids only)."""
    rng = random.Random(20261125)
    grids = list(session.scalars(select(UnitGrid).where(UnitGrid.community_code.in_(urban_communities()))
                                 .order_by(UnitGrid.code)))  # the county seat, not the village cells
    if not grids:
        return
    points = _points(session, grids, rng, now)
    _placements(session, grids, points, rng, now)
    _records(session, grids, rng, now, ZoneInfo(settings.timezone))
    _campaign(session, settings, grids, rng, now)
    session.commit()
