"""The demo county's monitoring devices: 55 waterlogging monitors at squares and underpasses, smart covers on
surveyed manholes, dust monitors at construction sites, noise monitors near schools and hospitals, rain gauges —
with two hours of quiet readings so charts and states are live from the start (the live feed is in tasks.py).
Dust and noise monitors are HJ 212 stations: MN LA<DU|NO>341122<nnnnnn>, a six-digit password each."""

from __future__ import annotations

import random
from datetime import datetime

from sqlalchemy import select

from cityloop.catalog.models import Category, Component
from cityloop.config import Settings
from cityloop.geo.models import Region
from cityloop.org.models import Department
from cityloop.sensors import simulate, store
from cityloop.sensors.models import VALUE_COLUMNS, Device
from cityloop.sensors.simfeed import random_points

# type, how many, context(s), responsible unit, name
FLEET = [("waterlogging", 55, ("underpass", "square"), "szc", "积水监测"),
         ("dust", 36, ("construction",), "zjj", "工地扬尘监测"),
         ("noise", 12, ("school", "hospital"), "sthj", "噪声监测"),
         ("weather", 4, ("other",), "slj", "雨量站")]
COVERS = 120
PLACE = {"underpass": "下穿通道", "square": "广场", "construction": "建筑工地", "school": "学校", "hospital": "医院",
         "other": "", "road": "道路"}
HISTORY_MINUTES, STEP_S = 120, 300


def build(session, settings: Settings, now: datetime) -> None:
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
    session.commit()


def _history(session, devices: list[Device], now: datetime, rng: random.Random) -> None:
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
