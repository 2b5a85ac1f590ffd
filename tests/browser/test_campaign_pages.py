"""专项普查 and 渣土车抽查 pages in a real browser: a leader creates a campaign through the API, an inspector sees the
task on the campaigns page, checks an item off, and the leader sees the progress per grid; the checks page lists a
roadside check."""

from __future__ import annotations

from datetime import timedelta

import httpx

from cityloop.db import make_engine, make_session_factory
from tests.fleet_world import LAT, lon_at, seed_fleet
from tests.live import LAPTOP, browser, live, screenshot  # noqa: F401


def _headers(server, username: str) -> dict:
    token = httpx.post(f"{server.url}/api/v1/auth/token", data={"username": username, "password": "demo"}).json()
    return {"Authorization": f"Bearer {token['access_token']}"}


def test_campaign_and_checks_pages(live, browser):  # noqa: F811
    engine = make_engine(live.settings.database_url)
    with make_session_factory(engine)() as session:
        seed_fleet(session, live.world, live.clock.now())
    engine.dispose()
    now = live.clock.now()
    body = {"name": "绿化管理专项信息采集", "theme": "greening", "categories": ["06010"],
            "starts_at": (now - timedelta(hours=1)).isoformat(), "ends_at": (now + timedelta(days=5)).isoformat(),
            "grids": ["DG01", "DG02"], "inspectors": ["inspector01"], "checklist": ["行道树缺株", "绿地护栏破损"]}
    made = httpx.post(f"{live.url}/api/v1/campaigns", json=body, headers=_headers(live, "leader1"))
    assert made.status_code == 201, made.text
    campaign = made.json()
    check = {"plate": "皖MB0002", "checked_at": (now - timedelta(minutes=5)).isoformat(), "lon": lon_at(500),
             "lat": LAT, "address": "测试大道", "items": {"sealed": False, "papers": True}}
    assert httpx.post(f"{live.url}/api/v1/muck/spot-checks", json=check,
                      headers=_headers(live, "cgj")).status_code == 201

    page = browser.new_page(viewport=LAPTOP)
    live.login(page, "inspector01")
    page.goto(f"{live.url}/console/campaigns")
    tasks = page.inner_text("#campaign-tasks")
    assert "行道树缺株" in tasks and "DG01" in tasks
    item = campaign["checklist"][0]["id"]
    inspector = _headers(live, "inspector01")
    assert httpx.post(f"{live.url}/api/v1/campaigns/{campaign['id']}/checks", json={"item_id": item, "grid": "DG01"},
                      headers=inspector).status_code == 200
    page.reload()
    assert "行道树缺株" not in page.inner_text("#campaign-tasks")
    page.close()

    page = browser.new_page(viewport=LAPTOP)
    live.login(page, "leader1")
    page.goto(f"{live.url}/console/campaigns")
    page.click("#campaigns a:has-text('绿化管理专项信息采集')")
    page.wait_for_selector("#campaign-progress")
    rows = page.inner_text("#campaign-progress")
    assert "DG01" in rows and "1 / 2" in rows and "50%" in rows and "1 / 4" in rows
    screenshot(page, "campaign-progress")
    page.goto(f"{live.url}/console/muck")
    assert "皖MB0002" in page.inner_text("#muck-checks") and "密闭" in page.inner_text("#muck-checks")
    assert "1" in page.inner_text("#muck-companies")
    page.close()
