"""The built demo, page by page, as each role sees it: every staff page a role reaches from its menu reads as plain
Chinese with no console error, and the big screen's truck, sensor and case layers have markers."""

from __future__ import annotations

import re
from io import StringIO
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect
from rich.console import Console
from sqlalchemy import select

from cityloop.app import create_app
from cityloop.config import Settings
from cityloop.db import make_engine, make_session_factory
from cityloop.demo.build import build_demo
from cityloop.org.models import Department
from tests.browser import plain
from tests.conftest import free_port
from tests.live import LAPTOP, browser, serve  # noqa: F401

ROLES = [("operator1", ["/console", "/console/hotline", "/console/intake"]), ("lead1", ["/console"]),
         ("dispatcher1", ["/console"]), ("leader1", ["/console", "/screen", "/console/assessment"]),
         ("cgj", ["/console", "/m/department"]), ("inspector01", ["/console", "/m/inspector"]),
         ("admin", ["/console"]), ("ztc01", ["/portal"])]
SKIP = re.compile(r"^/(api|static|map/tiles|docs|openapi|logout|healthz|readyz|metrics|login)|"
                  r"\.(xlsx|pdf|docx|csv|json|png|svg|js)$|/export")
PER_ROLE = 30


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo (one day of history) built once for this module and served by uvicorn in a thread."""
    folder = tmp_path_factory.mktemp("demo")
    url = f"sqlite:///{folder / 'demo.db'}"
    settings = Settings(database_url=url, demo=True, media_dir=folder / "media", scheduler_in_server=False,
                        sweep_in_server=False, map_tiles_path=folder / "basemap.mbtiles", jt808_port=free_port(),
                        secret_key="test-secret-of-thirty-two-bytes-or-more")
    build_demo(settings, Console(file=StringIO()), days=1, per_day=6)
    with make_session_factory(make_engine(url))() as session:
        codes = set(session.scalars(select(Department.code)))
    server, thread, base = serve(create_app(settings))
    yield base, codes
    server.should_exit = True
    thread.join(10)


def _login(page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "demo")
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


def _shape(path: str) -> str:
    return "/".join("{id}" if re.search(r"\d", part) else part for part in path.split("/"))


def _walk(browser, base: str, codes: set[str], username: str, starts: list[str]) -> list[str]:  # noqa: F811
    """Visit a role's pages breadth-first (one per address shape) and say what is wrong on each."""
    context = browser.new_context(viewport=LAPTOP, locale="zh-CN")
    page = context.new_page()
    errors = plain.watch(page)
    _login(page, base, username)
    queue, shapes, found = [(p, "") for p in starts], set(), []
    while queue and len(shapes) < PER_ROLE:
        path, parent = queue.pop(0)
        if _shape(path) in shapes or SKIP.search(path):
            continue
        shapes.add(_shape(path))
        errors.clear()
        page.goto(base + path, wait_until="networkidle", timeout=30_000)
        page.wait_for_timeout(300)  # scripts that fill the page after the first answers
        managed = path.startswith("/console/admin")  # code tables: codes and login names are the data there
        wrong = plain.problems(plain.text(page), set() if managed else codes, words=not managed)
        wrong += [e[:200] for e in errors]
        found += [f"{username} {path} (from {parent or '-'}): {w}" for w in wrong]
        for href in page.eval_on_selector_all("a[href^='/']", "els => els.map(e => e.getAttribute('href'))"):
            link = urlsplit(href).path
            if _shape(link) not in shapes and not SKIP.search(link) and not link.startswith(("/public", "/m/report")):
                queue.append((link, path))
    context.close()
    return found


@pytest.mark.parametrize("username,starts", ROLES, ids=[r[0] for r in ROLES])
def test_every_staff_page_reads_as_plain_chinese(demo, browser, username, starts):  # noqa: F811
    base, codes = demo
    found = _walk(browser, base, codes, username, starts)
    assert not found, "\n".join(found)


def test_the_public_pages_read_as_plain_chinese(demo, browser):  # noqa: F811
    base, codes = demo
    context = browser.new_context(viewport=LAPTOP, locale="zh-CN")
    page = context.new_page()
    errors = plain.watch(page)
    found = []
    for path in ("/", "/public", "/public/cases", "/public/rankings", "/public/warnings", "/public/permits",
                 "/public/services", "/m/report"):
        errors.clear()
        page.goto(base + path, wait_until="networkidle")
        found += [f"{path}: {w}" for w in plain.problems(plain.text(page), codes) + errors]
    context.close()
    assert not found, "\n".join(found)


def test_the_big_screen_shows_trucks_sensors_with_alarms_and_cases(demo, browser):  # noqa: F811
    base, codes = demo
    context = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN")
    page = context.new_page()
    plain.watch(page)
    _login(page, base, "leader1")
    page.goto(f"{base}/screen")
    layers = page.locator("#map")
    for layer in ("cases", "sensors", "trucks"):
        expect(layers).to_have_attribute(f"data-{layer}", re.compile(r"^[1-9]\d*$"), timeout=15_000)
    expect(layers).to_have_attribute("data-sensor-alarms", re.compile(r"^[1-9]\d*$"))
    expect(page.locator("#fig-alarms b")).to_have_text(re.compile(r"^[1-9]\d*$"))
    expect(page.locator("#fig-trucks b")).to_have_text(re.compile(r"^[1-9]\d*$"))
    assert page.locator("#feed li").count() > 0
    plain.check(page, codes, where="大屏")
    context.close()
