"""The demo county's monitoring devices: 55 waterlogging monitors at squares and underpasses, smart covers on
surveyed manholes, dust monitors at construction sites, noise monitors near schools and hospitals, rain gauges —
with two hours of quiet readings so charts and states are live from the start (the live feed is in tasks.py).
Dust and noise monitors are HJ 212 stations: MN LA<DU|NO>341122<nnnnnn>, a six-digit password each."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import select

from cityloop.catalog.models import Category, Component
from cityloop.config import Settings
from cityloop.geo.models import Region
from cityloop.org.models import Department
from cityloop.sensors import simulate, store
from cityloop.sensors.models import VALUE_COLUMNS, Alarm, AlarmEvent, Device
from cityloop.sensors.simfeed import random_points
from sqlalchemy.orm import Session

# type, how many, context(s), responsible unit, name
FLEET = [("waterlogging", 55, ("underpass", "square"), "szc", "积水监测"),
         ("dust", 36, ("construction",), "zjj", "工地扬尘监测"),
         ("noise", 12, ("school", "hospital"), "sthj", "噪声监测"),
         ("weather", 4, ("other",), "slj", "雨量站")]
COVERS = 120
PLACE = {"underpass": "下穿通道", "square": "广场", "construction": "建筑工地", "school": "学校", "hospital": "医院",
         "other": "", "road": "道路"}
HISTORY_MINUTES, STEP_S = 120, 300


def build(session: Session, settings: Settings, now: datetime) -> None:
    """Register the demo devices and two hours of calm readings (committed once)."""
    rng, pw_rng = random.Random(2026), random.Random(212)  # a second source keeps the places as they were
    depts = dict(session.execute(select(Department.code, Department.id)).all())
    names = dict(session.execute(select(Region.code, Region.name).where(Region.level == "community")).all())
    devices: list[Device] = []
    for kind, count, contexts, owner, label in FLEET:
        for i, (lon, lat, grid) in enumerate(random_points(session, count, rng), 1):
            context = contexts[i % len(contexts)]
            place = f"{names.get(grid[:12], '')}{PLACE[context]}"
            station = kind in ("dust", "noise")
            devices.append(Device(code=f"{kind[:2].upper()}-{i:03d}", name=f"{place}{label}{i:02d}", type=kind,
                                  model="CL-" + kind[:3].upper(), lon=lon, lat=lat, grid_code=grid, address=place,
                                  context=context, department_id=depts.get(owner), installed_on=now.date(),
                                  state="active", created_at=now, updated_at=now,
                                  hj212_mn=f"LA{kind[:2].upper()}341122{i:06d}" if station else None,
                                  hj212_password=f"{pw_rng.randrange(10**6):06d}" if station else None))
    covers = session.execute(select(Component, Category.code).join(Category, Category.id == Component.category_id)
                             .where(Category.code.in_(["01001", "01002", "01003", "01005", "01007", "01011"]))
                             .order_by(Component.id)).all()
    for i, (comp, code) in enumerate(rng.sample(covers, min(COVERS, len(covers))), 1):
        devices.append(Device(code=f"MC-{i:03d}", name=f"{comp.name}智能井盖{i:03d}", type="manhole", model="CL-MC",
                              lon=comp.lon, lat=comp.lat, grid_code=comp.grid_code, address=comp.name,
                              context="road", department_id=comp.owner_department_id, installed_on=now.date(),
                              state="active", cover_type=code, component_id=comp.id, created_at=now, updated_at=now))
    session.add_all(devices)
    session.flush()
    _history(session, devices, now, rng)
    _alarm_history(session, devices, now, rng)
    session.commit()
    _live_alarms(session, settings, devices, now)


# (device type, rule, level, minutes it lasted): what a county's network raises on an ordinary day
PAST = [("waterlogging", "water_depth", "yellow", (30, 180)), ("waterlogging", "water_depth", "blue", (20, 90)),
        ("manhole", "cover_open", "red", (40, 240)), ("manhole", "cover_tilt", "yellow", (60, 300)),
        ("dust", "dust_pm10", "yellow", (30, 120)), ("noise", "noise_night", "yellow", (20, 60)),
        ("waterlogging", "battery_low", "blue", (600, 2000))]
PAST_DAYS, PER_DAY = 28, (0, 4)  # a few alarms a day over four weeks


def _alarm_history(session: Session, devices: list[Device], now: datetime, rng: random.Random) -> None:
    """Four weeks of raised and cleared alarms, so 运行监测 and the alarm list are not empty on day one."""
    by_type: dict[str, list[Device]] = {}
    for d in devices:
        by_type.setdefault(d.type, []).append(d)
    for day in range(PAST_DAYS, 0, -1):
        for _ in range(rng.randint(*PER_DAY)):
            kind, rule, level, (low, high) = rng.choice(PAST)
            if not by_type.get(kind):
                continue
            device = rng.choice(by_type[kind])
            raised = now - timedelta(days=day, minutes=rng.randrange(24 * 60))
            cleared = raised + timedelta(minutes=rng.randint(low, high))
            alarm = Alarm(device_id=device.id, rule_code=rule, level=level, state="cleared", is_open=None,
                          raised_at=raised, updated_at=cleared, cleared_at=cleared)
            session.add(alarm)
            session.flush()
            session.add_all([AlarmEvent(alarm_id=alarm.id, at=raised, kind="raise", level=level, actor="system"),
                             AlarmEvent(alarm_id=alarm.id, at=cleared, kind="clear", level=level, actor="system")])


def _live_alarms(session: Session, settings: Settings, devices: list[Device], now: datetime) -> None:
    """Two live alarms through the real pipeline (cases, public warning): water in an underpass, a cover open."""
    from sqlalchemy.orm import sessionmaker

    from cityloop.sensors.pipeline import Ingestor

    class Clock:
        def now(self) -> datetime:
            return now

    water = next((d for d in devices if d.type == "waterlogging" and d.context == "underpass"), None)
    cover = next((d for d in devices if d.type == "manhole"), None)
    ingestor = Ingestor(sessionmaker(bind=session.get_bind(), expire_on_commit=False), settings, Clock())
    items = []
    for i in range(3):  # just after the calm history's last reading (an older one would not be evaluated)
        ts = (now + timedelta(seconds=20 * (i + 1))).isoformat()
        if water is not None:
            items.append({"device_id": water.code, "ts": ts, "values": {"depth_cm": 42 + 3 * i, "battery_pct": 88}})
        if cover is not None:
            items.append({"device_id": cover.code, "ts": ts, "values": {"open": 1, "tilt_deg": 30, "battery_pct": 76}})
    ingestor.ingest_items(items)
    ingestor.flush_state()


def _history(session: Session, devices: list[Device], now: datetime, rng: random.Random) -> None:
    pairs = [(d.code, d.type) for d in devices]
    by_code = {d.code: d for d in devices}
    start = now.timestamp() - HISTORY_MINUTES * 60
    rows = []
    for tick in simulate.ticks(pairs, simulate.Plan(), start, HISTORY_MINUTES, STEP_S, seed=rng.randrange(1000)):
        for r in tick:
            v = r["values"]
            rows.append((by_code[r["device_id"]].id, int(r["ts"] * 1000),
                         *[(int(v[c]) if c == "open" else v[c]) if c in v else None for c in VALUE_COLUMNS], None))
            by_code[r["device_id"]].last_values = v
    store.insert_readings(session, rows)
    for d in devices:
        d.last_seen_at = now
