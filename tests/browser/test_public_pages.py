"""Public services in a real browser: a QR code's phone page at 390×844 (nearest services, map, report button),
the services map and closed cases on a phone, a QR code rendered by Chromium and decoded, and the 追呼 console."""

from __future__ import annotations

import httpx
import zxingcpp
from PIL import Image
from playwright.sync_api import expect

from cityloop.db import make_engine, make_session_factory
from tests.integration.public_kit import add_ad_matter, point_body
from tests.live import LAPTOP, PHONE, browser, live, offline_guard, screenshot  # noqa: F401

API = "/api/v1/public"


def _headers(server, user="operator1") -> dict:
    token = httpx.post(f"{server.url}/api/v1/auth/token", data={"username": user, "password": "demo"}).json()
    return {"Authorization": f"Bearer {token['access_token']}"}


def _seed(server) -> dict:
    """A toilet with drinking water, a red station and a bench near a placement; returns the placement."""
    headers = _headers(server)
    lon, lat = server.world.point("341122100001001")
    for body in (point_body("toilet", lon + 0.0012, lat, name="人民路公厕", hours="05:30-22:30", drinking_water=True,
                            accessible=True),
                 point_body("red_station", lon, lat - 0.002, name="红色驿站·1号", hours="08:00-20:00",
                            kit=["雨伞", "急救箱", "充电宝"]),
                 point_body("bench", lon + 0.0002, lat, name="街头座椅")):
        assert httpx.post(f"{server.url}{API}/service-points", json=body, headers=headers).status_code == 201
    r = httpx.post(f"{server.url}{API}/placements", headers=headers,
                   json={"label": "北门社区·人民路口", "lon": lon, "lat": lat, "batch": "浏览器"})
    assert r.status_code == 201
    return r.json()


def test_the_phone_page_of_a_qr_code(live, browser):  # noqa: F811
    placement = _seed(live)
    page = browser.new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    outside = offline_guard(page)
    page.goto(f"{live.url}/public/q/{placement['code']}")
    expect(page.locator("h1")).to_have_text("附近服务")
    expect(page.locator("#where")).to_contain_text("北门社区·人民路口")
    toilets = page.locator("section.kind-toilet li")
    expect(toilets).to_have_count(1)
    expect(toilets.first).to_contain_text("人民路公厕")
    expect(toilets.first.locator(".dist")).to_have_text("东 150 米")  # 0.0012° east ≈ 113 m, × 1.3
    expect(toilets.first).to_contain_text("可饮水")
    expect(toilets.first).to_contain_text("开放中")
    expect(page.locator("section.kind-red_station .kit")).to_contain_text("雨伞、急救箱、充电宝")
    expect(page.locator("section.kind-bench")).to_have_count(0)
    expect(page.locator("#guide-map .leaflet-interactive")).to_have_count(3)  # you are here + two services
    expect(page.locator("#guide-map .map-legend")).to_contain_text("您在这里")  # and what the colours mean
    expect(page.locator("#guide-map .map-legend")).to_contain_text("红色驿站")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"]  # nothing sideways on a phone
    screenshot(page, "public-guide-phone")
    button = page.locator("#report-here")
    expect(button).to_be_visible()
    box = button.bounding_box()
    assert box["height"] >= 40 and box["width"] >= 300  # a thumb-sized button
    button.click()
    expect(page).to_have_url(f"{live.url}/m/report?lon={placement['lon']:.6f}&lat={placement['lat']:.6f}")
    expect(page.locator("input[name=lon]")).to_have_value(f"{placement['lon']:.6f}")  # the pin is already set
    expect(page.locator("input[name=lat]")).to_have_value(f"{placement['lat']:.6f}")
    assert outside == []
    page.close()
    counted = httpx.get(f"{live.url}{API}/placements/{placement['code']}", headers=_headers(live)).json()
    assert counted["scans"] == 1


def test_services_map_and_closed_cases_on_a_phone(live, browser):  # noqa: F811
    _seed(live)
    page = browser.new_page(viewport=PHONE, is_mobile=True)
    outside = offline_guard(page)
    page.goto(f"{live.url}/public/services")
    expect(page.locator("#service-list li")).to_have_count(2)  # toilets and stations; benches are not listed
    page.locator("#kinds button[data-kind=red_station]").click()
    expect(page.locator("#service-list li")).to_have_count(1)
    expect(page.locator("#service-list")).to_contain_text("红色驿站·1号")
    expect(page.locator("#service-list .dist")).to_have_text("红色驿站")  # the page's language, not the browser's
    expect(page.locator("#services-map .leaflet-interactive")).to_have_count(1)
    screenshot(page, "public-services-phone")
    page.goto(f"{live.url}/public/cases")
    expect(page.locator("#case-count")).to_have_text("共 0 件")
    page.goto(f"{live.url}/public")
    expect(page.locator(".pub-cards a.card")).to_have_count(6)
    assert outside == []
    page.close()


def test_chromium_renders_a_qr_code_that_decodes(live, browser, tmp_path):  # noqa: F811
    placement = _seed(live)
    page = browser.new_page(viewport={"width": 400, "height": 400})
    live.login(page, "operator1")
    for kind in ("svg", "png"):
        page.goto(f"{live.url}{API}/placements/{placement['code']}/qr.{kind}")
        shot = tmp_path / f"qr-{kind}.png"
        page.screenshot(path=str(shot))
        assert [r.text for r in zxingcpp.read_barcodes(Image.open(shot))] == [placement["url"]], kind
    page.close()


def test_call_tracking_console(live, browser):  # noqa: F811
    with make_session_factory(make_engine(live.settings.database_url))() as session:
        add_ad_matter(session)
    lon, lat = live.world.point("341122100001002")
    case = httpx.post(f"{live.url}/api/v1/cases", headers=_headers(live, "inspector01"),
                      json={"category_code": "07001", "lon": lon, "lat": lat, "description": "办证小广告"}).json()
    page = browser.new_page(viewport=LAPTOP)
    outside = offline_guard(page)
    live.login(page, "operator1")
    page.goto(f"{live.url}/console/public/campaigns")
    page.locator("#campaign-form").evaluate("f => f.closest('details').open = true")
    page.fill("#campaign-form input[name=case]", case["number"])
    page.fill("#campaign-form textarea[name=phones]", "138 0000 1111\n13800002222")
    page.locator("#campaign-form button").click()
    rows = page.locator("#campaign-table tr[data-id]")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text(case["number"])
    page.once("dialog", lambda d: d.accept())
    rows.filter(has_text="13800001111").locator("button", has_text="停止").click()
    expect(rows.filter(has_text="13800001111").locator(".status")).to_have_text("人工停止")
    screenshot(page, "public-campaigns")
    rows.filter(has_text="13800002222").locator("a").first.click()
    expect(page.locator("#campaign-status")).to_have_text("追呼中")
    expect(page.locator("#attempt-table")).to_contain_text("尚未呼叫")
    assert outside == []
    page.close()
