"""The QR service guide: placements, PNG/SVG codes decoded with a real QR decoder back to the placement page, PDF
sheets whose printed codes decode too, scan counting, and the phone page's content."""

from __future__ import annotations

import io
import re
import subprocess
from urllib.parse import urlsplit

import pytest
import zxingcpp
from PIL import Image, ImageDraw

from cityloop.state import app_state
from tests.integration.public_kit import point_body

API = "/api/v1/public"


def decode(image: Image.Image) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(image)]


def make_placement(api, login, world, grid="341122100001001", **extra) -> dict:
    lon, lat = world.point(grid)
    r = api.post(f"{API}/placements", headers=login("operator1"),
                 json={"label": "北门社区·人民路口", "lon": lon, "lat": lat, **extra})
    assert r.status_code == 201, r.text
    return r.json()


def test_png_round_trip_opens_the_placement_page_and_counts_the_scan(api, world, login):
    lon, lat = world.point("341122100001001")
    api.post(f"{API}/service-points", headers=login("operator1"),
             json=point_body("toilet", lon + 0.001, lat, name="人民路公厕", hours="24h", drinking_water=True))
    placement = make_placement(api, login, world)
    assert placement["grid_code"] == "341122100001001" and placement["scans"] == 0
    png = api.get(f"{API}/placements/{placement['code']}/qr.png", headers=login("operator1"))
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    [url] = decode(Image.open(io.BytesIO(png.content)))
    assert url == f"http://127.0.0.1:8000/public/q/{placement['code']}" == placement["url"]
    page = api.get(urlsplit(url).path)  # what a phone opens, no login
    assert page.status_code == 200
    assert "北门社区·人民路口" in page.text and "人民路公厕" in page.text and "可饮水" in page.text
    assert f"/m/report?lon={lon:.6f}&amp;lat={lat:.6f}" in page.text
    api.get(urlsplit(url).path.lower())  # codes are case-insensitive when typed
    again = api.get(f"{API}/placements/{placement['code']}", headers=login("operator1")).json()
    assert again["scans"] == 2 and again["last_scan_at"] is not None


def svg_to_image(svg: bytes, scale: int = 8) -> Image.Image:
    """Paint the unit squares of qrcode's SVG path ("Mx,yH…V…H…z" per dark module) into a bitmap."""
    text = svg.decode()
    size = int(re.search(r'viewBox="0 0 (\d+) \d+"', text).group(1))
    image = Image.new("L", (size * scale, size * scale), 255)
    draw = ImageDraw.Draw(image)
    for x, y in re.findall(r"M(\d+),(\d+)H", text):
        draw.rectangle([int(x) * scale, int(y) * scale, (int(x) + 1) * scale - 1, (int(y) + 1) * scale - 1], fill=0)
    return image


def test_svg_round_trip(api, world, login, settings):
    placement = make_placement(api, login, world)
    svg = api.get(f"{API}/placements/{placement['code']}/qr.svg", headers=login("operator1"))
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    assert decode(svg_to_image(svg.content)) == [placement["url"]]
    # drawn once, then served from media/qr
    cached = list((settings.media_dir / "qr").rglob(f"{placement['code']}-*.svg"))
    assert len(cached) == 1 and cached[0].read_bytes() == svg.content


def test_base_url_setting_is_encoded(api, app, world, login):
    app_state(app).settings = app_state(app).settings.model_copy(update={"public_base_url": "https://cg.laian.example/"})
    placement = make_placement(api, login, world)
    png = api.get(f"{API}/placements/{placement['code']}/qr.png?box=4", headers=login("operator1"))
    assert decode(Image.open(io.BytesIO(png.content))) == [f"https://cg.laian.example/public/q/{placement['code']}"]


def test_batch_over_grids_and_pdf_sheet_decodes(api, world, login, tmp_path):
    r = api.post(f"{API}/placements/batch", headers=login("operator1"),
                 json={"batch": "2026-冬", "per_grid": 3, "area_code": "341122100001"})
    assert r.status_code == 201 and r.json() == {"batch": "2026-冬", "created": 12}
    placements = api.get(f"{API}/placements", params={"batch": "2026-冬", "limit": 100},
                         headers=login("operator1")).json()
    assert len({p["code"] for p in placements}) == 12
    assert {p["grid_code"] for p in placements} == {f"34112210000100{i}" for i in range(1, 5)}
    assert all(world.grids[p["grid_code"]] for p in placements)
    sheet = api.get(f"{API}/placements/sheet.pdf", params={"batch": "2026-冬"}, headers=login("operator1"))
    assert sheet.status_code == 200 and sheet.content.startswith(b"%PDF")
    pdf = tmp_path / "sheet.pdf"
    pdf.write_bytes(sheet.content)
    subprocess.run(["pdftoppm", "-r", "110", "-png", str(pdf), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page*.png"))
    assert len(pages) == 1  # 12 stickers to an A4 page
    found = decode(Image.open(pages[0]))
    assert sorted(found) == sorted(p["url"] for p in placements)
    for url in found[:3]:
        assert api.get(urlsplit(url).path).status_code == 200
    batches = api.get(f"{API}/placements/batches", headers=login("operator1")).json()
    assert {"batch": "2026-冬", "codes": 12, "active": 12} == {k: batches[0][k] for k in ("batch", "codes", "active")}
    assert batches[0]["scans"] == 3


def test_unknown_and_retired_codes(api, world, login):
    assert api.get("/public/q/ZZZZZZZZ").status_code == 404
    assert api.get("/public/q/not-a-code!").status_code == 404
    placement = make_placement(api, login, world)
    r = api.patch(f"{API}/placements/{placement['code']}", headers=login("operator1"), json={"active": False})
    assert r.json()["active"] is False
    page = api.get(f"/public/q/{placement['code']}")
    assert page.status_code == 410 and "停用" in page.text
    assert api.get(f"{API}/placements/{placement['code']}", headers=login("operator1")).json()["scans"] == 0
    assert api.get(f"{API}/placements/sheet.pdf?batch=nothing", headers=login("operator1")).status_code == 404
    assert api.get(f"{API}/placements/{placement['code']}/qr.png", headers=login("d01")).status_code == 403


@pytest.mark.parametrize("body", [{"batch": "x", "per_grid": 0}, {"batch": "x", "per_grid": 21},
                                  {"batch": "", "per_grid": 1}, {"batch": "x", "area_code": "12ab"}])
def test_bad_batches(api, world, login, body):
    assert api.post(f"{API}/placements/batch", headers=login("operator1"), json=body).status_code == 422


def test_batch_in_an_area_without_grids(api, world, login):
    r = api.post(f"{API}/placements/batch", headers=login("operator1"), json={"batch": "x", "area_code": "341122999"})
    assert r.status_code == 422 and r.json()["code"] == "no-grids"
