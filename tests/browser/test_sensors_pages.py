"""The monitoring pages in a real browser: a flooded underpass shows on the public warnings page (no login, no
outside requests) and a dispatcher acknowledges the alarm on the console."""

from __future__ import annotations

from datetime import timedelta

import httpx

from cityloop.db import make_engine, make_session_factory
from tests.integration.sensors_kit import seed_sensors
from tests.live import LAPTOP, browser, live, offline_guard, screenshot  # noqa: F401


def _flood(server) -> None:
    with make_session_factory(make_engine(server.settings.database_url))() as session:
        seed_sensors(session, server.world, server.settings, server.clock.now())
    token = httpx.post(f"{server.url}/api/v1/auth/token", data={"username": "admin", "password": "demo"}).json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    for minutes, depth in ((-2, 45), (-1, 45)):
        ts = (server.clock.now() + timedelta(minutes=minutes)).isoformat()
        res = httpx.post(f"{server.url}/api/v1/telemetry", headers=headers,
                         json={"readings": [{"device_id": "WL-1", "ts": ts, "values": {"depth_cm": depth}}]})
        assert res.status_code == 200 and res.json()["accepted"] == 1


def test_public_warning_and_acknowledge_in_the_browser(live, browser):  # noqa: F811
    _flood(live)
    page = browser.new_page(viewport=LAPTOP)
    outside = offline_guard(page)
    page.goto(f"{live.url}/public/warnings")
    item = page.locator(".warnings li.closed")
    assert item.count() == 1 and "北门下穿通道积水" in item.inner_text() and "暂停通行" in item.inner_text()
    assert page.locator("#warn-map .leaflet-interactive").count() == 1  # the marker on the map
    screenshot(page, "sensors-public-warnings")
    live.login(page, "dispatcher1")
    page.goto(f"{live.url}/console/sensors")
    row = page.locator("#alarm-table tr[data-alarm]").first
    assert "积水深度" in row.inner_text()
    row.locator("button.ack").click()
    page.locator("#alarm-table button.ack").wait_for(state="detached")
    assert "已确认" in row.inner_text()
    screenshot(page, "sensors-console")
    page.reload()
    assert "dispatcher1" in page.locator("#alarm-table tr[data-alarm]").first.inner_text()
    assert outside == []
    page.close()
