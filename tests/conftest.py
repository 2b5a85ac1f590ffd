"""Shared fixtures: a migrated database (SQLite, or PostgreSQL when CITYLOOP_TEST_DATABASE_URL is set),
each test inside a rolled-back transaction, an app wired to it, and a small seeded world."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import inspect, text
from sqlalchemy.orm import sessionmaker

from cityloop.app import create_app
from cityloop.config import Settings
from cityloop.db import make_engine
from cityloop.db.migrate import upgrade
from cityloop.shared.clock import FixedClock

SHANGHAI = ZoneInfo("Asia/Shanghai")


# Whole files that start servers or subprocesses, or drive a browser: `make test-fast` leaves them out.
SLOW_FILES = frozenset({"test_durability.py", "test_concurrent_writes.py", "test_open311_schemathesis.py",
                        "test_shutdown.py", "test_gateway_shutdown.py", "test_fleet_mqtt.py", "test_api_fuzz.py"})


def pytest_collection_modifyitems(items) -> None:
    """Mark browser tests and the SLOW_FILES as slow."""
    for item in items:
        if "browser" in item.path.parts or item.path.name in SLOW_FILES:
            item.add_marker(pytest.mark.slow)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (for servers, gateways and brokers a test starts)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(base: str, seconds: float = 60, alive: Callable[[], object] | None = None) -> None:
    """Return once `base`/healthz answers 200; fail after `seconds`. `alive` is called between tries (a test's
    check that its server process has not died, so a crash fails at once with its log)."""
    deadline = time.monotonic() + seconds
    while True:
        if alive is not None:
            alive()
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, f"the server at {base} did not start"
        time.sleep(0.1)


def _reset_postgres(engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))


@pytest.fixture(scope="session")
def db_url(tmp_path_factory) -> str:
    url = os.environ.get("CITYLOOP_TEST_DATABASE_URL")
    if url:
        engine = make_engine(url)
        _reset_postgres(engine)
        engine.dispose()
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def engine(db_url):
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def connection(engine):
    conn = engine.connect()
    trans = conn.begin()
    yield conn
    trans.rollback()
    conn.close()


@pytest.fixture
def session_factory(connection):
    return sessionmaker(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)


@pytest.fixture
def read_session_factory(connection):
    # Read sessions must not open savepoints: closing one would roll back writes made after it began.
    return sessionmaker(bind=connection, join_transaction_mode="rollback_only", expire_on_commit=False)


@pytest.fixture
def session(session_factory):
    s = session_factory()
    yield s
    s.close()


@pytest.fixture(autouse=True)
def _fresh_calendar():
    """Calendar overrides (and campaigns, level rules) live in the rolled-back test transaction, so no cached
    copy may outlive a test."""
    from cityloop.db.topic_cache import invalidate_all
    from cityloop.sla.service import invalidate

    invalidate()
    invalidate_all()
    yield
    invalidate()
    invalidate_all()


@pytest.fixture
def clock() -> FixedClock:
    # Monday 2026-11-23 09:00 in Shanghai: a plain working day.
    return FixedClock(datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI))


@pytest.fixture
def settings(tmp_path, db_url) -> Settings:
    # No background jobs: they would share the test's connection (tests that need them start their own server).
    # The base map lives in the test's own folder: a var/basemap.mbtiles another test left in the work tree must not
    # become this test's map.
    return Settings(database_url=db_url, demo=True, media_dir=tmp_path / "media", scheduler_in_server=False,
                    secret_key="test-secret-of-thirty-two-bytes-or-more", map_tiles_path=tmp_path / "basemap.mbtiles")


@pytest.fixture
def app(settings, engine, session_factory, read_session_factory, clock):
    return create_app(settings, engine=engine, session_factory=session_factory,
                      read_session_factory=read_session_factory, clock=clock)


@pytest.fixture
def api(app):
    return TestClient(app, raise_server_exceptions=True)


@pytest.fixture
def world(session, clock):
    """A small county: one street, one community, a 2×2 block of unit grids, users of every role."""
    from tests.factories import seed_world

    return seed_world(session, clock.now())


@pytest.fixture
def login(world, settings, clock):
    """login('dispatcher1') -> Authorization headers for that demo user."""
    from cityloop.org.security import issue_token

    def _headers(username: str) -> dict[str, str]:
        token = issue_token(settings.secret_key, world.users[username].id, username, clock.now(), 600)
        return {"Authorization": f"Bearer {token}"}

    return _headers


def table_names(engine) -> set[str]:
    return set(inspect(engine).get_table_names())
