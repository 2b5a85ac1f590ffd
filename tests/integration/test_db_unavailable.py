"""A locked database: writes answer 503 problem details with Retry-After (never a 500), the readiness check
(/readyz, a real write rolled back) answers 503 while liveness (/healthz) stays 200; both recover with the lock."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from fastapi.testclient import TestClient

from cityloop.app import create_app
from cityloop.config import Settings
from cityloop.db import make_engine, make_session_factory
from cityloop.db.migrate import upgrade
from cityloop.org.security import issue_token
from cityloop.shared.clock import FixedClock
from tests.conftest import SHANGHAI
from tests.factories import seed_world

SECRET = "locked-database-test-secret-32-chars"


def test_a_locked_database_answers_503_and_only_readiness_fails(tmp_path):
    path = tmp_path / "locked.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    clock = FixedClock(datetime(2026, 11, 23, 9, tzinfo=SHANGHAI))
    with make_session_factory(make_engine(url))() as s:
        world = seed_world(s, clock.now())
        s.commit()
        inspector, point = world.users["inspector01"].id, world.point("341122100001001")
    settings = Settings(database_url=url, demo=True, media_dir=tmp_path / "media", scheduler_in_server=False,
                        secret_key=SECRET, db_busy_timeout_seconds=0.5, ready_timeout_seconds=2)
    auth = {"Authorization": f"Bearer {issue_token(SECRET, inspector, 'inspector01', clock.now(), 60)}",
            "Accept-Language": "en"}
    report = {"category_code": "06010", "lon": point[0], "lat": point[1], "description": "垃圾"}
    locker = sqlite3.connect(path, isolation_level=None)  # another process holding the write lock
    with TestClient(create_app(settings, clock=clock)) as api:
        locker.execute("BEGIN EXCLUSIVE")
        try:
            res = api.post("/api/v1/cases", json=report, headers=auth)
            assert res.status_code == 503, res.text
            assert res.headers["content-type"] == "application/problem+json" and res.headers["retry-after"]
            assert res.json()["code"] == "db-unavailable"
            ready = api.get("/readyz")
            assert ready.status_code == 503 and ready.headers["retry-after"] and ready.json()["code"] == "not-ready"
            assert api.get("/healthz").status_code == 200  # alive and reading: do not restart it, route around it
            assert api.get("/api/v1/cases", headers=auth).status_code == 200  # reads go on
        finally:
            locker.execute("ROLLBACK")
            locker.close()
        assert api.get("/readyz").json() == {"status": "ready"}
        assert api.post("/api/v1/cases", json=report, headers=auth).status_code == 201


def test_readyz_fails_on_a_read_only_postgresql(tmp_path):
    import os

    import pytest

    base = os.environ.get("CITYLOOP_TEST_DATABASE_URL")
    if not base:
        pytest.skip("PostgreSQL only (CITYLOOP_TEST_DATABASE_URL)")
    upgrade(base)
    settings = Settings(database_url=base, demo=True, media_dir=tmp_path, scheduler_in_server=False)
    read_only = make_engine(base, connect_args={"options": "-c default_transaction_read_only=on"})
    try:
        with TestClient(create_app(settings, engine=read_only)) as api:  # a standby, or a full disk's read-only mode
            assert api.get("/healthz").status_code == 200
            assert api.get("/readyz").status_code == 503
        with TestClient(create_app(settings, engine=make_engine(base))) as api:
            assert api.get("/readyz").status_code == 200
    finally:
        read_only.dispose()
