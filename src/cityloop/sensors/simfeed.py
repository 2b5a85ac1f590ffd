"""`cityloop simulate sensors`: register simulated devices if asked, then send a scenario over MQTT, HTTP or HJ 212
(dust and noise stations only: they are the ones with an MN)."""

from __future__ import annotations

import asyncio
import random
import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

import shapely
from sqlalchemy import select

from cityloop.geo.models import UnitGrid
from cityloop.org.models import Department
from cityloop.sensors import simulate
from cityloop.sensors.models import Device
from cityloop.config import Settings
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:
    import httpx
    from rich.console import Console

# Device mix of simulated fleets and the demo's responsible units per type (when those departments exist).
MIX = (("manhole", 0.45), ("waterlogging", 0.2), ("dust", 0.15), ("noise", 0.15), ("weather", 0.05))
OWNERS = {"waterlogging": "szc", "manhole": "szc", "dust": "zjj", "noise": "sthj", "weather": "yjj"}
CONTEXT = {"waterlogging": "underpass", "manhole": "road", "dust": "construction", "noise": "school",
           "weather": "other"}


def random_points(session: Session, n: int, rng: random.Random) -> list[tuple[float, float, str]]:
    """n random (lon, lat, grid code) inside unit grids."""
    grids = session.execute(select(UnitGrid.code, UnitGrid.geometry).order_by(UnitGrid.code)).all()
    if not grids:
        raise RuntimeError("no unit grids: import or generate grids first")
    out = []
    for _ in range(n):
        code, geojson = rng.choice(grids)
        geom = shapely.from_geojson(geojson)
        minx, miny, maxx, maxy = geom.bounds
        for _ in range(50):
            x, y = round(rng.uniform(minx, maxx), 6), round(rng.uniform(miny, maxy), 6)
            if geom.contains(shapely.Point(x, y)):
                break
        else:
            p = geom.representative_point()
            x, y = round(p.x, 6), round(p.y, 6)
        out.append((x, y, code))
    return out


def sim_station(code: str) -> tuple[str, str]:
    """The HJ 212 MN and password of a simulated dust or noise monitor."""
    n = int(code[4:])
    return f"SIMMN{n:08d}", f"{n * 7919 % 1_000_000:06d}"


def ensure_sim_devices(session: Session, count: int, now: datetime, seed: int = 3) -> int:
    """Register SIM-00001 … SIM-<count> (types by MIX; dust and noise monitors as HJ 212 stations) where missing;
    returns how many were added."""
    have = set(session.scalars(select(Device.code).where(Device.code.like("SIM-%"))))
    wanted = [f"SIM-{i:05d}" for i in range(1, count + 1)]
    missing = [c for c in wanted if c not in have]
    for device in session.scalars(select(Device).where(Device.code.like("SIM-%"), Device.hj212_mn.is_(None),
                                                       Device.type.in_(("dust", "noise")))):
        device.hj212_mn, device.hj212_password = sim_station(device.code)  # registered before stations existed
    if not missing:
        session.commit()
        return 0
    rng = random.Random(seed)
    depts = dict(session.execute(select(Department.code, Department.id)).all())
    points = random_points(session, len(missing), rng)
    types = [t for t, share in MIX for _ in range(round(share * 100))]
    for code, (lon, lat, grid) in zip(missing, points):
        kind = types[int(code[4:]) % len(types)]
        mn, password = sim_station(code) if kind in ("dust", "noise") else (None, None)
        session.add(Device(code=code, name=f"模拟{code[4:]}", type=kind, model="SIM", lon=lon, lat=lat, grid_code=grid,
                           context=CONTEXT[kind], department_id=depts.get(OWNERS[kind]), state="active",
                           cover_type="01003" if kind == "manhole" else None, created_at=now, updated_at=now,
                           hj212_mn=mn, hj212_password=password))
    session.commit()
    return len(missing)


def _post(client: httpx.Client, url: str, key: str | None, readings: list[dict[str, Any]],
          max_batch: int) -> dict[str, int]:
    counts = {"accepted": 0, "rejected": 0, "alarms": 0}
    headers = {"X-Gateway-Key": key} if key else {}
    for i in range(0, len(readings), max_batch):
        chunk = [dict(r, ts=datetime.fromtimestamp(r["ts"], timezone.utc).isoformat()) for r in readings[i:i + max_batch]]
        res = client.post(f"{url.rstrip('/')}/api/v1/telemetry", json={"readings": chunk}, headers=headers)
        res.raise_for_status()
        body = res.json()
        counts["accepted"] += body["accepted"]
        counts["rejected"] += len(body["rejected"])
        counts["alarms"] += len(body["alarms"])
    return counts


def feed(settings: Settings, factory: sessionmaker[Session], extra: int, scenario: str, via: str, url: str | None,
         key: str | None, minutes: int, step: int, per_message: int, realtime: bool, seed: int,
         console: Console) -> dict[str, int]:
    """Run one scenario; returns what was sent (and, over HTTP, what the server answered)."""
    import httpx

    from cityloop.sensors.mqtt import publish

    now = datetime.now(timezone.utc)
    with factory() as session:
        if extra:
            added = ensure_sim_devices(session, extra, now)
            console.print(f"模拟设备 / simulated devices added: {added}")
        devices = [(code, kind) for code, kind in session.execute(
            select(Device.code, Device.type).where(Device.state == "active").order_by(Device.code))]
    plan = simulate.plan(devices, scenario, seed)
    console.print(f"{len(devices)} devices · flooded {len(plan.flooded)} · covers opened {len(plan.opened)} · "
                  f"dusty {len(plan.dusty)} · loud {len(plan.loud)}")
    start = now.timestamp() if realtime else now.timestamp() - minutes * 60
    if via == "hj212":
        return _feed_hj212(settings, factory, url, plan, devices, start, minutes, step, realtime, seed, console)
    totals = {"readings": 0, "messages": 0, "accepted": 0, "rejected": 0, "alarms": 0}
    client = httpx.Client(timeout=60) if via == "http" else None
    target = url or (settings.sensor_mqtt_url if via == "mqtt" else "http://127.0.0.1:8000")
    for tick in simulate.ticks(devices, plan, start, minutes, step, seed):
        if realtime:
            time.sleep(max(0.0, tick[0]["ts"] - time.time()))
        totals["readings"] += len(tick)
        if via == "mqtt":
            totals["messages"] += publish(target, simulate.messages(tick, settings.sensor_tenant, per_message))
        else:
            assert client is not None, f"via must be mqtt, http or hj212, not {via!r}"
            for k, v in _post(client, target, key, tick, settings.sensor_max_batch).items():
                totals[k] += v
    return totals


def _feed_hj212(settings: Settings, factory: sessionmaker[Session], url: str | None, plan: simulate.Plan,
                devices: list[tuple[str, str]], start: float, minutes: int, step: int, realtime: bool, seed: int,
                console: Console) -> dict[str, int]:
    """The scenario's dust and noise readings as HJ 212 frames, one connection per registered station."""
    from cityloop.sensors.hj212_sim import KINDS
    from cityloop.sensors.hj212_sim import feed as send

    target = urlparse(url or f"tcp://127.0.0.1:{settings.sensor_hj212_port}")
    if target.scheme != "tcp" or not target.port:
        raise ValueError(f"use --url tcp://host:port for HJ 212, not {url!r}")
    with factory() as session:
        stations = {code: (kind, mn, pw) for code, kind, mn, pw in session.execute(
            select(Device.code, Device.type, Device.hj212_mn, Device.hj212_password).where(
                Device.state == "active", Device.hj212_mn.is_not(None), Device.type.in_(KINDS)))
            if mn is not None and pw is not None}
    console.print(f"HJ 212: {len(stations)} stations (dust and noise monitors with an MN) → "
                  f"{target.hostname}:{target.port}")
    ticks = simulate.ticks(devices, plan, start, minutes, step, seed)
    totals = asyncio.run(send(target.hostname or "127.0.0.1", target.port, stations, ticks,
                              ZoneInfo(settings.timezone), realtime))
    return {"stations": len(stations), **totals}
