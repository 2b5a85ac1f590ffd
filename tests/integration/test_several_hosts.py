"""Two real `cityloop serve` processes on one PostgreSQL database behave as one system: login lockout, rate limits,
idempotency keys, the big screen's stream, the calendar and catalog caches, the device directory and the scheduler."""

from __future__ import annotations

import io
import os
import time
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest
from PIL import Image
from sqlalchemy import text, update

from cityloop.db import make_engine, make_session_factory
from cityloop.db.migrate import upgrade
from cityloop.org.models import User
from cityloop.org.security import hash_password, issue_token
from cityloop.db.leader import LOCK_KEY
from tests.own_database import own_database
from tests.conftest import SHANGHAI
from tests.factories import seed_world
from tests.server_process import ServerProcess

pytestmark = pytest.mark.slow
BASE_URL = os.environ.get("CITYLOOP_TEST_DATABASE_URL", "")
SECRET = "several-hosts-secret-of-32-characters"
PASSWORD = "Hosts-test-pass-2026"
if not BASE_URL.startswith("postgresql"):
    pytest.skip("several hosts share a PostgreSQL database (set CITYLOOP_TEST_DATABASE_URL); SQLite is one host",
                allow_module_level=True)


@pytest.fixture(scope="module")
def hosts_db(tmp_path_factory):
    """A database of its own (the session's test database stays untouched), migrated and seeded."""
    with own_database(tmp_path_factory.mktemp("hosts"), "hosts") as db_url:
        upgrade(db_url)
        engine = make_engine(db_url)
        with make_session_factory(engine)() as s:
            world = seed_world(s, datetime(2026, 11, 23, 9, tzinfo=SHANGHAI))
            s.execute(update(User).values(password_hash=hash_password(PASSWORD)))  # not a demo database
            s.commit()
        yield db_url, world, engine
        engine.dispose()


def new_host(name: str, db_url: str, tmp: Path) -> ServerProcess:
    """One `cityloop serve` host with its scheduler and tight limits, so cross-host effects show quickly."""
    return ServerProcess(db_url, SECRET, tmp / "media", tmp / f"{name}.log", scheduler=True,
                         CITYLOOP_SCREEN_POLL_SECONDS="0.3", CITYLOOP_LOGIN_MAX_FAILURES="4",
                         CITYLOOP_PUBLIC_REPORTS_PER_IP_HOUR="3", CITYLOOP_MAP_TILES_PATH=str(tmp / "none.mbtiles"))


@pytest.fixture
def two_hosts(hosts_db, tmp_path):
    db_url, world, engine = hosts_db
    a, b = new_host("a", db_url, tmp_path), new_host("b", db_url, tmp_path)
    try:
        a.launch()
        b.launch()
        a.wait_ready()
        b.wait_ready()
        yield a, b, world, engine
    finally:
        a.stop()
        b.stop()


def bearer(world, username: str) -> dict:
    user = world.users[username]
    return {"Authorization": f"Bearer {issue_token(SECRET, user.id, username, datetime.now(timezone.utc), 30)}"}


def jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (640, 480), (120, 140, 90)).save(buf, "JPEG")
    return buf.getvalue()


def until(check, seconds: float = 5.0, step: float = 0.1):
    """Poll `check` until it returns something truthy (returned) or time runs out (AssertionError)."""
    deadline = time.monotonic() + seconds
    while True:
        got = check()
        if got:
            return got
        assert time.monotonic() < deadline, "not seen in time"
        time.sleep(step)


def change_version(lines) -> int:
    """The version of the stream's next `change` event (keep-alives skipped)."""
    import json

    for line in lines:
        if line.startswith("data: "):
            return json.loads(line[6:])["version"]
    raise AssertionError("the stream ended")


def test_two_hosts_on_one_database_act_as_one_system(two_hosts):
    a, b, world, engine = two_hosts
    lon, lat = world.point("341122100001001")

    # A big screen on B hears a case created on A; the same Idempotency-Key on A then B makes one case.
    with httpx.stream("GET", f"{b.base}/api/v1/screen/stream", headers=bearer(world, "leader1"),
                      timeout=httpx.Timeout(10, read=6)) as stream:
        assert stream.status_code == 200
        lines = stream.iter_lines()
        first = change_version(lines)
        report = {"category_code": "06010", "lon": lon, "lat": lat, "description": "路边有暴露垃圾"}
        h = {**bearer(world, "inspector01"), "Idempotency-Key": "two-hosts-1"}
        made = httpx.post(f"{a.base}/api/v1/cases", json=report, headers=h, timeout=10)
        assert made.status_code == 201, made.text
        again = httpx.post(f"{b.base}/api/v1/cases", json=report, headers=h, timeout=10)
        assert again.status_code == 200 and again.json()["id"] == made.json()["id"]
        started = time.monotonic()
        assert change_version(lines) > first
        assert time.monotonic() - started < 5
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM cases")).scalar() == 1  # the only case so far

    # Failed logins on A and B add up to one lockout (4 wrong passwords allowed per account and address).
    def login(host: ServerProcess, password: str) -> int:
        return httpx.post(f"{host.base}/api/v1/auth/token", data={"username": "operator1", "password": password},
                          timeout=10).status_code

    codes = [login(host, "wrong") for host in (a, b, a, b, a, b)]
    assert codes[:4] == [401, 401, 401, 401] and codes[4:] == [429, 429], codes
    assert login(a, PASSWORD) == 429 and login(b, PASSWORD) == 429  # locked on both, even the right password

    # The public reporting limit (3 an hour per address) is one count over both hosts.
    def public(host: ServerProcess) -> int:
        return httpx.post(f"{host.base}/api/v1/channels/public/reports",
                          data={"lon": str(lon), "lat": str(lat), "description": "路边垃圾堆了好几天"},
                          files=[("photos", ("p.jpg", jpeg(), "image/jpeg"))], timeout=10).status_code

    assert [public(a), public(b), public(a)] == [201, 201, 201]
    assert public(b) == 429 and public(a) == 429

    # A calendar change on A is used by B's deadlines at once (B had it cached).
    admin = bearer(world, "admin")
    preview = {"start": "2026-12-04T17:00:00+08:00", "limit": "2h"}  # Friday 17:00: the weekend is skipped

    def due_on_b() -> str:
        res = httpx.get(f"{b.base}/api/v1/sla/preview", params=preview, headers=admin, timeout=10)
        assert res.status_code == 200, res.text
        return res.json()["due_at"]

    assert due_on_b().startswith("2026-12-07T09:00")
    put = httpx.put(f"{a.base}/api/v1/sla/calendar/2026-12-05", json={"day": "2026-12-05", "is_workday": True},
                    headers=admin, timeout=10)
    assert put.status_code == 200, put.text
    until(lambda: due_on_b().startswith("2026-12-05T09:00"), 3)

    # A catalog change on A reaches B's suggestions (cached on B for ten minutes otherwise).
    def score_on_b(words: str) -> float:
        res = httpx.get(f"{b.base}/api/v1/catalog/suggest", params={"text": words}, headers=admin, timeout=10)
        assert res.status_code == 200, res.text
        return max([s["score"] for s in res.json()["items"] if s["code"] == "09006"], default=0.0)

    before = score_on_b("烧烤摊夜市")
    patched = httpx.patch(f"{a.base}/api/v1/catalog/categories/09006/conditions/01",
                          json={"description": "烧烤摊夜市占道经营"}, headers=admin, timeout=10)
    assert patched.status_code == 200, patched.text
    until(lambda: score_on_b("烧烤摊夜市") > before, 3)

    # A device registered through A is known to B's telemetry intake at once.
    def reading_on_b() -> dict:
        now = datetime.now(timezone.utc).isoformat()
        res = httpx.post(f"{b.base}/api/v1/telemetry", headers=admin, timeout=10,
                         json={"readings": [{"device_id": "NO-9", "ts": now, "values": {"leq_db": 40}}]})
        assert res.status_code == 200, res.text
        return res.json()

    assert "unknown-device" in str(reading_on_b()["rejected"])  # B has just (re)loaded its directory
    added = httpx.post(f"{a.base}/api/v1/sensors/devices", headers=admin, timeout=10,
                       json={"code": "NO-9", "name": "噪声监测", "type": "noise", "lon": lon, "lat": lat})
    assert added.status_code == 201, added.text
    assert until(lambda: reading_on_b()["accepted"] == 1, 3)

    # A role taken away on A is refused on B at once (B had the user's actor cached).
    op = bearer(world, "operator1")
    assert httpx.get(f"{b.base}/api/v1/screen/summary", headers=op, timeout=10).status_code == 200
    uid = world.users["operator1"].id
    assert httpx.patch(f"{a.base}/api/v1/users/{uid}", json={"roles": ["inspector"]}, headers=admin,
                       timeout=10).status_code == 200
    until(lambda: httpx.get(f"{b.base}/api/v1/screen/summary", headers=op, timeout=10).status_code == 403, 3)

    # Both hosts start a scheduler; one holds the lock and runs the jobs, and the other takes over when it stops.
    def holders() -> list[str]:
        with engine.connect() as conn:
            return list(conn.scalars(text(
                "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                "WHERE l.locktype = 'advisory' AND l.objid = :k AND l.granted AND l.database = "
                "(SELECT oid FROM pg_database WHERE datname = current_database())"), {"k": LOCK_KEY}))

    assert len(until(holders)) == 1
    pids = {a.proc.pid: a, b.proc.pid: b}
    leader = pids[int(holders()[0].rsplit(":", 1)[1])]
    other = b if leader is a else a
    assert "this process runs the jobs" in leader.log.read_text()
    assert "this process runs the jobs" not in other.log.read_text() and "standby" in other.log.read_text()
    leader.stop()
    took_over = until(lambda: holders() == [h for h in holders() if h.endswith(f":{other.proc.pid}")] and holders(),
                      20, 0.5)
    assert len(took_over) == 1
    assert "this process runs the jobs" in other.log.read_text()
