"""Durability under faults: reports are posted with Idempotency-Keys while the server (two workers) is killed with
SIGKILL and restarted; every acknowledged report exists exactly once, and retrying the unacknowledged ones creates
each of them once. The same for batches of sensor readings a gateway posts."""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from datetime import datetime, timezone

import httpx
from sqlalchemy import func, select

from cityloop.cases.domain import scoped_key
from cityloop.cases.models import Case
from cityloop.config import Settings
from cityloop.db import make_engine, make_session_factory
from cityloop.geo.queries import build_index
from cityloop.org.security import issue_token
from cityloop.sensors import devices as registry
from cityloop.sensors.models import Reading
from tests.conftest import SHANGHAI
from tests.factories import seed_world
from tests.integration.test_backup import two_databases  # noqa: F401
from tests.server_process import ServerProcess

SECRET = "durability-test-secret-32-bytes-long"
GATEWAY_KEY = "durability-gateway-key"
KILLS = 3
BATCH = 10  # readings per telemetry request
NOW = datetime(2026, 11, 23, 9, tzinfo=SHANGHAI)


def _under_kills(server: ServerProcess, new_key, send) -> tuple[set, set]:
    """Six clients send fresh items (`send(key)` → acknowledged?) while the server is killed KILLS times and
    restarted; returns the acknowledged and the unacknowledged keys."""
    acked, unacked, lock, stop = set(), set(), threading.Lock(), threading.Event()

    def load():
        while not stop.is_set():
            key = new_key()
            ok = send(key)
            with lock:
                (acked if ok else unacked).add(key)
            if not ok:
                time.sleep(0.05)

    server.start()
    threads = [threading.Thread(target=load) for _ in range(6)]
    for t in threads:
        t.start()
    for _ in range(KILLS):
        time.sleep(1.5)
        server.kill()
        time.sleep(0.3)
        server.start()
    time.sleep(1.0)
    stop.set()
    for t in threads:
        t.join()
    assert len(acked) > 50 and unacked, "the test must overlap the kills"
    return acked, unacked


def _seeded(url: str):
    from cityloop.db.migrate import upgrade

    from sqlalchemy import update

    from cityloop.org.models import User

    upgrade(url)
    with make_session_factory(make_engine(url))() as s:
        world = seed_world(s, NOW)
        s.execute(update(User).values(password_hash="!"))  # no demo passwords: a non-demo server refuses those
        s.commit()
        return s, world


def test_acknowledged_reports_survive_sigkill(two_databases, tmp_path):  # noqa: F811
    url, _ = two_databases
    session, world = _seeded(url)
    inspector, point = world.users["inspector01"].id, world.point("341122100001001")
    token = issue_token(SECRET, inspector, "inspector01", datetime.now(timezone.utc), 60)
    server = ServerProcess(url, SECRET, tmp_path / "media", tmp_path / "server.log", workers=2)
    base = f"{server.base}/api/v1/cases"

    def post(key: str) -> bool:
        body = {"category_code": "06010", "lon": point[0], "lat": point[1], "description": f"报告 {key}"}
        try:
            r = httpx.post(base, json=body, timeout=5, headers={"Authorization": f"Bearer {token}",
                                                                "Idempotency-Key": key})
            return r.status_code in (200, 201)
        except httpx.HTTPError:
            return False

    acked, unacked = _under_kills(server, lambda: uuid.uuid4().hex, post)
    retried = {key for key in unacked if post(key)}  # a client retries what was never acknowledged
    server.kill()
    assert retried == unacked
    with make_session_factory(make_engine(url))() as s:
        rows = dict(s.execute(select(Case.idempotency_key, func.count()).group_by(Case.idempotency_key)).all())
    stored = {scoped_key(f"user:{inspector}", key) for key in acked | unacked}  # keys are kept per caller
    assert all(rows.get(key) == 1 for key in stored)  # every report exactly once
    assert set(rows) == stored  # and nothing else


def test_acknowledged_telemetry_survives_sigkill(two_databases, tmp_path):  # noqa: F811
    """Batches of readings posted by a gateway: every acknowledged batch is stored whole, and re-sending the
    unacknowledged ones stores each reading once."""
    url, _ = two_databases
    session, world = _seeded(url)
    with session:
        lon, lat = world.point("341122100001001")
        device = registry.register(session, Settings(database_url=url, secret_key=SECRET), {
            "code": "WL-9", "name": "下穿通道积水监测", "type": "waterlogging", "lon": lon, "lat": lat},
            build_index(session).locate, NOW)
        session.commit()
        device_id = device.id
    server = ServerProcess(url, SECRET, tmp_path / "media", tmp_path / "server.log", workers=2,
                           CITYLOOP_SENSOR_GATEWAY_KEYS=f'["{GATEWAY_KEY}"]')
    url_telemetry = f"{server.base}/api/v1/telemetry"
    start_ms = int(time.time() * 1000) - 3_600_000  # an hour ago: inside retention, never in the future
    batches = itertools.count()

    def stamps(batch: int) -> list[int]:
        return [start_ms + batch * BATCH + i for i in range(BATCH)]

    def post(batch: int) -> bool:
        body = {"readings": [{"device_id": "WL-9", "ts": ts / 1000, "values": {"depth_cm": 2.0}}
                             for ts in stamps(batch)]}
        try:
            r = httpx.post(url_telemetry, json=body, timeout=5, headers={"X-Gateway-Key": GATEWAY_KEY})
            return r.status_code == 200 and r.json()["accepted"] == BATCH
        except httpx.HTTPError:
            return False

    acked, unacked = _under_kills(server, lambda: next(batches), post)
    retried = {batch for batch in unacked if post(batch)}
    server.kill()
    assert retried == unacked
    with make_session_factory(make_engine(url))() as s:
        stored = s.execute(select(Reading.ts).where(Reading.device_id == device_id)).scalars().all()
    sent = {ts for batch in acked | unacked for ts in stamps(batch)}
    assert len(stored) == len(set(stored)) and set(stored) == sent  # every reading exactly once, nothing else
