"""Every map page in Chromium shows the base map from CityLoop's own tile file: the map's canvas tiles are drawn
(several colours, not one background), tiles came from /map/tiles, and no request went to any other host."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from cityloop.db import make_engine, make_session_factory
from cityloop.org.security import issue_token
from tests.fleet_world import seed_fleet
from tests.live import LAPTOP, PHONE, browser, live, screenshot  # noqa: F401

# Read the map's canvas tiles back: how many differently coloured pixels they hold (a blank map has one).
COLOURS = """(sel) => {
  const seen = new Set();
  for (const c of document.querySelectorAll(sel + ' canvas.leaflet-tile')) {
    if (!c.width) continue;
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    for (let i = 0; i < d.length; i += 4 * 97) seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
  }
  return seen.size;
}"""


def _case(live) -> int:  # noqa: F811
    token = issue_token(live.settings.secret_key, live.world.users["operator1"].id, "operator1", live.clock.now(), 60)
    lon, lat = live.world.point("341122100001002")
    body = {"category_code": "06010", "lon": lon, "lat": lat, "description": "路口垃圾堆积", "source": "hotline",
            "reporter_phone": "13812345678", "address": "北门路口"}
    r = httpx.post(f"{live.url}/api/v1/cases", json=body, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _watch(page, base: str) -> tuple[list[str], list[str]]:
    """Record requests to other hosts (and abort them) and the base-map tiles fetched."""
    outside, tiles = [], []

    def route(r):
        if r.request.url.startswith((base, "data:", "blob:")):
            if "/map/tiles/" in r.request.url:
                tiles.append(r.request.url)
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    return outside, tiles


def _check(page, live, path: str, selector: str, name: str, user: str | None = None) -> None:  # noqa: F811
    outside, tiles = _watch(page, live.url)
    if user:
        live.login(page, user)
    page.goto(f"{live.url}{path}")
    page.wait_for_selector(f"{selector} canvas.leaflet-tile", state="attached", timeout=15000)
    colours = 0
    for _ in range(150):  # polled from here: wait_for_function evaluates a string, which the CSP forbids
        colours = page.evaluate(COLOURS, selector)
        if colours > 3:
            break
        page.wait_for_timeout(100)
    screenshot(page, f"basemap-{name}")
    assert colours > 3, path  # a blank canvas has one colour: the background
    assert tiles, path
    assert outside == [], (path, outside)


PAGES = [  # (path, map element, page name, user, viewport)
    ("/m/report", "#map", "report", None, PHONE),
    ("/public/services", "#services-map", "public-services", None, PHONE),
    ("/public/cases", "#cases-map", "public-cases", None, PHONE),
    ("/public/warnings", "#warn-map", "public-warnings", None, PHONE),
    ("/m/inspector", "#map", "inspector", "inspector01", PHONE),
    ("/console/hotline", "#map", "hotline", "operator1", LAPTOP),
    ("/screen", "#map", "screen", "leader1", LAPTOP),
    ("/console/sensors", "#sensor-map", "sensors", "operator1", LAPTOP),
    ("/console/admin/grids", "#grid-map", "admin-grids", "admin", LAPTOP),
]


@pytest.mark.parametrize(("path", "selector", "name", "user", "viewport"), PAGES, ids=[p[2] for p in PAGES])
def test_map_page_shows_the_local_base_map(live, browser, path, selector, name, user, viewport):  # noqa: F811
    page = browser.new_page(viewport=viewport)
    _check(page, live, path, selector, name, user)
    page.close()


def test_case_page_and_fleet_pages_show_the_base_map(live, browser):  # noqa: F811
    case_id = _case(live)
    page = browser.new_page(viewport=LAPTOP)
    _check(page, live, f"/console/cases/{case_id}", "#case-map", "case", "operator1")
    page.close()
    engine = make_engine(live.settings.database_url)
    with make_session_factory(engine)() as session:
        seed_fleet(session, live.world, live.clock.now() - timedelta(minutes=1))
    engine.dispose()
    for path, user, name in (("/console/fleet", "cgj", "fleet"), ("/portal", "ztca", "portal")):
        page = browser.new_page(viewport=LAPTOP)
        _check(page, live, path, ".leaflet-container", name, user)
        page.close()
