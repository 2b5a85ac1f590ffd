"""`cityloop serve --workers 2` on a SQLite file: a change made through one worker reaches the other worker's caches
within a second (the catalog's suggestions, kept ten minutes otherwise, and the working calendar, thirty seconds),
as two hosts on PostgreSQL hear each other's notices (test_several_hosts)."""

from __future__ import annotations

import time
from datetime import datetime, timezone

import httpx
import pytest
from sqlalchemy import update

from cityloop.db import make_engine, make_session_factory
from cityloop.db.migrate import upgrade
from cityloop.org.models import User
from cityloop.org.security import hash_password, issue_token
from tests.conftest import SHANGHAI
from tests.factories import seed_world
from tests.server_process import ServerProcess

pytestmark = pytest.mark.slow
SECRET = "sqlite-workers-secret-of-32-characters"
ASKS = 12  # fresh connections, spread over both workers' listening sockets by the kernel


@pytest.fixture
def workers(tmp_path):
    url = f"sqlite:///{tmp_path / 'workers.db'}"
    upgrade(url)
    engine = make_engine(url)
    with make_session_factory(engine)() as s:
        world = seed_world(s, datetime(2026, 11, 23, 9, tzinfo=SHANGHAI))
        s.execute(update(User).values(password_hash=hash_password("Workers-test-pass-2026")))  # not a demo database
        s.commit()
    engine.dispose()
    server = ServerProcess(url, SECRET, tmp_path / "media", tmp_path / "serve.log", workers=2,
                           CITYLOOP_MAP_TILES_PATH=str(tmp_path / "none.mbtiles"))
    try:
        server.start()
        admin = world.users["admin"]
        yield server, {"Authorization": f"Bearer {issue_token(SECRET, admin.id, 'admin', datetime.now(timezone.utc), 30)}"}
    finally:
        server.stop()


def every_worker(ask, seconds: float = 5.0) -> None:
    """Until ASKS answers in a row, each on a new connection, all pass `ask` (AssertionError when time runs out)."""
    deadline = time.monotonic() + seconds
    while not all(ask() for _ in range(ASKS)):
        assert time.monotonic() < deadline, "a worker still answers from its old cache"
        time.sleep(0.2)


def test_a_change_through_one_worker_reaches_the_other_workers_caches(workers):
    server, admin = workers

    def score(words: str) -> float:
        res = httpx.get(f"{server.base}/api/v1/catalog/suggest", params={"text": words}, headers=admin, timeout=10)
        assert res.status_code == 200, res.text
        return max([s["score"] for s in res.json()["items"] if s["code"] == "09006"], default=0.0)

    before = [score("烧烤摊夜市") for _ in range(ASKS)]  # both workers load and keep their suggestions
    patched = httpx.patch(f"{server.base}/api/v1/catalog/categories/09006/conditions/01",
                          json={"description": "烧烤摊夜市占道经营"}, headers=admin, timeout=10)
    assert patched.status_code == 200, patched.text
    every_worker(lambda: score("烧烤摊夜市") > max(before))

    preview = {"start": "2026-12-04T17:00:00+08:00", "limit": "2h"}  # Friday 17:00: the weekend is skipped

    def due() -> str:
        res = httpx.get(f"{server.base}/api/v1/sla/preview", params=preview, headers=admin, timeout=10)
        assert res.status_code == 200, res.text
        return res.json()["due_at"]

    assert all(due().startswith("2026-12-07T09:00") for _ in range(ASKS))  # both workers keep the calendar
    put = httpx.put(f"{server.base}/api/v1/sla/calendar/2026-12-05", json={"day": "2026-12-05", "is_workday": True},
                    headers=admin, timeout=10)
    assert put.status_code == 200, put.text
    every_worker(lambda: due().startswith("2026-12-05T09:00"))
