"""A real server and a real browser for page tests: uvicorn in a thread on a seeded SQLite file, and Debian's
Chromium driven by Playwright (never a downloaded browser). Import the fixtures in a test module:

    from tests.live import browser, live  # noqa: F401
"""

from __future__ import annotations

import shutil
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
import uvicorn

from cityloop.app import create_app
from cityloop.basemap import source
from cityloop.config import Settings
from cityloop.db import make_engine, make_session_factory
from cityloop.db.migrate import upgrade
from cityloop.shared.clock import FixedClock
from tests.conftest import SHANGHAI, free_port, wait_until_up
from tests.factories import World, seed_world

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1366, "height": 768}


def serve(app, seconds: float = 120) -> tuple[uvicorn.Server, threading.Thread, str]:
    """Run `app` with uvicorn in a thread on a free port; returns once /healthz answers."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.config.port}"
    wait_until_up(base, seconds)
    return server, thread, base


@dataclass
class Live:
    url: str
    settings: Settings
    world: World
    clock: FixedClock
    app: object

    def login(self, page, username: str, password: str = "demo") -> None:
        """Log a Playwright page in through the login form."""
        page.goto(f"{self.url}/login")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")


@pytest.fixture
def live(tmp_path):
    """A running server on a fresh, seeded database (the small world of tests.factories)."""
    url = f"sqlite:///{tmp_path / 'live.db'}"
    upgrade(url)
    clock = FixedClock(datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI))
    with make_session_factory(make_engine(url))() as session:
        world = seed_world(session, clock.now())
        source.build(session, tmp_path / "basemap.mbtiles")  # every page shows the local base map, as the demo does
    settings = Settings(database_url=url, demo=True, media_dir=tmp_path / "media", scheduler_in_server=False,
                        screen_poll_seconds=0.2, map_tiles_path=tmp_path / "basemap.mbtiles",
                        secret_key="test-secret-of-thirty-two-bytes-or-more")
    app = create_app(settings, engine=make_engine(url), clock=clock)
    server, thread, base = serve(app)
    yield Live(base, settings, world, clock, app)
    server.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def browser():
    """Headless Debian Chromium for one test module. Playwright's sync API keeps an event loop running while it is
    started, so it is stopped after each module: later tests may use asyncio.run() again."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: run `make system-deps` (Debian package chromium)")
    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


def offline_guard(page) -> list[str]:
    """Block and record every request to another host: pages must work with no internet."""
    outside: list[str] = []

    def route(r):
        if r.request.url.startswith(("http://127.0.0.1", "data:", "blob:")):
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    return outside


def screenshot(page, name: str) -> None:
    """Keep a picture of the page under tests/artifacts/ (CI keeps them)."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
