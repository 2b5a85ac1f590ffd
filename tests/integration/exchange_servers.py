"""Two real CityLoop servers for the exchange tests: a city (receiver) and a county (sender), each on its own
database and port, started as subprocesses (`cityloop serve`, one worker) and killed by process group."""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import update

from cityloop.db import make_engine, make_session_factory
from cityloop.db.migrate import upgrade
from cityloop.org.models import User
from cityloop.org.security import issue_token
from tests.conftest import SHANGHAI
from tests.factories import seed_world
from tests.server_process import ServerProcess

SECRET = "exchange-test-secret-at-least-32-bytes"
EXCHANGE_KEY = "exchange-shared-key-for-tests-0123456789"
COUNTY = "341122"
NOW = datetime(2026, 11, 23, 9, tzinfo=SHANGHAI)


def server(url: str, media: Path, **env: str) -> ServerProcess:
    """A one-worker server with its scheduler (the exchange's sender runs there), logging beside its media."""
    return ServerProcess(url, SECRET, media, media.with_name(f"{media.name}.log"), scheduler=True, **env)


def seeded(url: str) -> dict[str, int]:
    """Migrate and seed a database (no demo passwords); returns user ids by name."""
    upgrade(url)
    engine = make_engine(url)
    with make_session_factory(engine)() as s:
        world = seed_world(s, NOW)
        s.execute(update(User).values(password_hash="!"))
        s.commit()
        ids = {name: u.id for name, u in world.users.items()}
        point = world.point("341122100001001")
    engine.dispose()
    return {**ids, "_lon": point[0], "_lat": point[1]}


def headers(users: dict, name: str) -> dict[str, str]:
    """A bearer token for a seeded user."""
    token = issue_token(SECRET, users[name], name, datetime.now(timezone.utc), 60)
    return {"Authorization": f"Bearer {token}"}


def pair(county_url: str, city_url: str, tmp_path, **county_env: str) -> tuple[ServerProcess, ServerProcess]:
    """A city server that accepts the county, and a county server that reports to it (not started)."""
    city = server(city_url, tmp_path / "city-media",
                  CITYLOOP_EXCHANGE_DOWNSTREAM=json.dumps({COUNTY: EXCHANGE_KEY}))
    county = server(county_url, tmp_path / "county-media",
                    CITYLOOP_EXCHANGE_UPSTREAM_URL=f"{city.base}/api/v1/exchange/batches",
                    CITYLOOP_EXCHANGE_KEY=EXCHANGE_KEY, CITYLOOP_EXCHANGE_INTERVAL_SECONDS="0.2",
                    CITYLOOP_EXCHANGE_BACKOFF_MAX_SECONDS="2", **county_env)
    return city, county


def wait_for(check, seconds: float = 20, step: float = 0.2):
    """Poll until check() returns something truthy; return it or fail."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"not within {seconds} s")
