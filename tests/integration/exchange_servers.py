"""Two real CityLoop servers for the exchange tests: a city (receiver) and a county (sender), each on its own
database and port, started as subprocesses (uvicorn, one worker) and killed by process group."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone

from sqlalchemy import update

from cityloop.db import make_engine, make_session_factory
from cityloop.db.migrate import upgrade
from cityloop.org.models import User
from cityloop.org.security import issue_token
from tests.conftest import SHANGHAI, free_port, wait_until_up
from tests.factories import seed_world

SECRET = "exchange-test-secret-at-least-32-bytes"
EXCHANGE_KEY = "exchange-shared-key-for-tests-0123456789"
COUNTY = "341122"
NOW = datetime(2026, 11, 23, 9, tzinfo=SHANGHAI)


class Server:
    """One `uvicorn cityloop.app:create_app` process with its own settings."""

    def __init__(self, url: str, media, **env: str):
        self.port = free_port()
        self.env = {**os.environ, "CITYLOOP_DATABASE_URL": url, "CITYLOOP_SECRET_KEY": SECRET,
                    "CITYLOOP_MEDIA_DIR": str(media), "CITYLOOP_SCHEDULER_IN_SERVER": "true", **env}
        self.env.pop("CITYLOOP_DEMO", None)
        self.proc = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "cityloop.app:create_app", "--factory", "--port", str(self.port),
             "--log-level", "error"], env=self.env, start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until_up(self.base, 90)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


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


def pair(county_url: str, city_url: str, tmp_path, **county_env: str) -> tuple[Server, Server]:
    """A city server that accepts the county, and a county server that reports to it (not started)."""
    city = Server(city_url, tmp_path / "city-media",
                  CITYLOOP_EXCHANGE_DOWNSTREAM=json.dumps({COUNTY: EXCHANGE_KEY}))
    county = Server(county_url, tmp_path / "county-media",
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
