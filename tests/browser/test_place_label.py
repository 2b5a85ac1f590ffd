"""拍一拍 in headless Chromium: placing and moving the pin shows the reverse-geocoded place under the map."""

from __future__ import annotations

import json
import re

from playwright.sync_api import expect

from cityloop.state import app_state
from cityloop.places import importer
from tests.integration.test_places import LON0, Y, county
from tests.live import PHONE, browser, live, offline_guard  # noqa: F401


def test_placing_the_pin_shows_the_place(live, browser):  # noqa: F811
    with app_state(live.app).session_factory() as session:
        importer.replace(session, importer.parse_geojson(json.dumps(county()), "county"), "county")
        session.commit()
    lon, lat = LON0 + 0.0026, Y + 0.0002  # by the door plate 永阳路 88号
    context = browser.new_context(viewport=PHONE, geolocation={"longitude": lon, "latitude": lat},
                                  permissions=["geolocation"], locale="zh-CN")
    page = context.new_page()
    outside = offline_guard(page)
    page.goto(f"{live.url}/m/report")
    page.click("#gps")
    expect(page.locator("#place-label")).to_have_text("您选择的位置：永阳路 88号附近")
    page.goto(f"{live.url}/m/report?lon={LON0 + 0.0005}&lat={Y + 0.0002}")  # a QR code's pin: north of the road
    expect(page.locator("#place-label")).to_have_text("您选择的位置：永阳路 17号附近")
    page.locator("#map").click(position={"x": 5, "y": 5})  # the pin moved: the label follows it
    expect(page.locator("#place-label")).to_have_text(re.compile("^(您选择的位置：永阳路 1号附近|附近没有已知的地名)$"))
    assert outside == []
