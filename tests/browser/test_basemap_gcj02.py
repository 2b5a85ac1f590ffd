"""A tile URL drawn in GCJ-02 (高德/腾讯-style tiles) lines up with WGS84 data: in Chromium, a case marker at a WGS84
point sits on the tile pixel of that point's GCJ-02 position when `map_tile_crs = gcj02`, and on the plain WGS84
pixel when it is not. The tiles come from a fake tile host on this machine, which the CSP names only when it is
the configured tile URL."""

from __future__ import annotations

import io
import math
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from PIL import Image

from cityloop.app import create_app
from cityloop.config import Settings
from cityloop.db import make_engine, make_session_factory
from cityloop.geo.coords import from_wgs84
from cityloop.db.migrate import upgrade
from cityloop.org.security import issue_token
from cityloop.shared.clock import FixedClock
from tests.conftest import free_port
from tests.factories import seed_world
from tests.live import LAPTOP, browser, screenshot, serve  # noqa: F401

TILE = re.compile(r"/(\d+)/(\d+)/(\d+)\.png$")


@pytest.fixture
def tile_host():
    """A fake tile server on 127.0.0.1: a plain 256 px PNG for every z/x/y, and the paths asked for."""
    buf = io.BytesIO()
    Image.new("RGB", (256, 256), (200, 220, 200)).save(buf, "PNG")
    png, asked = buf.getvalue(), []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            asked.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(png)))
            self.end_headers()
            self.wfile.write(png)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", asked
    server.shutdown()


def _serve(tmp_path, tile_url: str | None, crs: str):
    """The seeded world served with the given tile URL and CRS and no local tile file."""
    from datetime import datetime

    from tests.conftest import SHANGHAI

    url = f"sqlite:///{tmp_path / f'{crs}.db'}"
    upgrade(url)
    clock = FixedClock(datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI))
    with make_session_factory(make_engine(url))() as session:
        world = seed_world(session, clock.now())
    settings = Settings(database_url=url, demo=True, media_dir=tmp_path / "media", scheduler_in_server=False,
                        map_tiles_path=tmp_path / "no-local-map.mbtiles", map_tile_url=tile_url, map_tile_crs=crs,
                        secret_key="test-secret-of-thirty-two-bytes-or-more")
    app = create_app(settings, engine=make_engine(url), clock=clock)
    server, _, base = serve(app)
    return server, base, world, settings, clock


def _world_pixel(lon: float, lat: float, z: int) -> tuple[float, float]:
    """Web Mercator pixel of a point at zoom z (256 px tiles)."""
    scale = 256 * (1 << z)
    y = math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))
    return (lon + 180) / 360 * scale, (1 - y / math.pi) / 2 * scale


MARKER_ON_TILE = """() => {
  const m = document.querySelector('#case-map path.leaflet-interactive[fill="#d93025"], #case-map path[stroke="#d93025"]');
  if (!m) return null;
  const r = m.getBoundingClientRect(), cx = r.left + r.width / 2, cy = r.top + r.height / 2;
  for (const img of document.querySelectorAll('#case-map img.leaflet-tile')) {
    const t = img.getBoundingClientRect();
    if (img.complete && cx >= t.left && cx < t.right && cy >= t.top && cy < t.bottom)
      return { src: img.src, dx: (cx - t.left) * 256 / t.width, dy: (cy - t.top) * 256 / t.height };
  }
  return null;
}"""


def _marker_pixel(browser, base, world, settings, clock):  # noqa: F811
    """(tile-space pixel of the case marker at its zoom, the case's WGS84 point, zoom, page CSP, other hosts)."""
    token = issue_token(settings.secret_key, world.users["operator1"].id, "operator1", clock.now(), 60)
    lon, lat = world.point("341122100001002")
    r = httpx.post(f"{base}/api/v1/cases", headers={"Authorization": f"Bearer {token}"},
                   json={"category_code": "06010", "lon": lon, "lat": lat, "description": "路口垃圾堆积"})
    assert r.status_code == 201, r.text
    page = browser.new_page(viewport=LAPTOP)
    blocked = []
    page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto(f"{base}/login")
    page.fill("input[name=username]", "operator1")
    page.fill("input[name=password]", "demo")
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    response = page.goto(f"{base}/console/cases/{r.json()['id']}")
    csp = response.headers["content-security-policy"]
    found = None
    for _ in range(150):
        found = page.evaluate(MARKER_ON_TILE)
        if found:
            break
        page.wait_for_timeout(100)
    screenshot(page, f"basemap-gcj02-{settings.map_tile_crs}")
    page.close()
    assert found, "no marker over a loaded tile"
    z, x, y = (int(v) for v in TILE.search(found["src"]).groups())
    return (x * 256 + found["dx"], y * 256 + found["dy"]), (lon, lat), z, csp, blocked


@pytest.mark.parametrize("crs", ["gcj02", "wgs84"])
def test_markers_line_up_with_gcj02_tiles_only_when_the_tiles_are_gcj02(tmp_path, browser, tile_host, crs):  # noqa: F811
    host, asked = tile_host
    server, base, world, settings, clock = _serve(tmp_path, f"{host}/{{z}}/{{x}}/{{y}}.png", crs)
    try:
        (px, py), (lon, lat), z, csp, blocked = _marker_pixel(browser, base, world, settings, clock)
    finally:
        server.should_exit = True
    assert f"img-src 'self' data: blob: https://{host[7:]} {host};" in csp and blocked == []
    assert asked and all(TILE.search(p) for p in asked)  # the browser drew the fake host's tiles
    wgs = _world_pixel(lon, lat, z)
    gcj = _world_pixel(*from_wgs84(lon, lat, "gcj02"), z)
    assert math.dist(wgs, gcj) > 50  # at this zoom the two are far apart on the screen
    expected, other = (gcj, wgs) if crs == "gcj02" else (wgs, gcj)
    assert math.dist((px, py), expected) < 3, (crs, (px, py), expected, other)


def test_the_csp_names_no_tile_host_unless_one_is_configured(tmp_path, tile_host):
    host, _ = tile_host
    server, base, *_ = _serve(tmp_path, None, "wgs84")
    try:
        csp = httpx.get(f"{base}/login").headers["content-security-policy"]
    finally:
        server.should_exit = True
    assert host not in csp and "127.0.0.1" not in csp and "http:" not in csp
