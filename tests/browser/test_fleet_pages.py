"""The fleet pages in a real browser: a company applies for a permit and appeals a violation in its portal with
a photo; a reviewer approves the permit and cancels the violation in the console; the public sees the permit."""

from __future__ import annotations

import io
from datetime import timedelta

import httpx
from PIL import Image
from playwright.sync_api import expect

from cityloop.db import make_engine, make_session_factory
from tests.fleet_world import drive, seed_fleet
from tests.live import LAPTOP, browser, live, screenshot  # noqa: F401


def test_portal_appeal_and_console_review(live, browser, tmp_path):  # noqa: F811
    engine = make_engine(live.settings.database_url)
    with make_session_factory(engine)() as session:
        seed_fleet(session, live.world, live.clock.now())
    engine.dispose()
    live.settings.fleet_ingest_token = "browser-token"
    positions = drive("皖MA0001", live.clock.now() - timedelta(minutes=10), 700, 60, 40)
    made = httpx.post(f"{live.url}/api/v1/fleet/positions", json={"positions": positions},
                      headers={"X-Fleet-Token": "browser-token"}).json()["violations"]
    assert len(made) == 1
    photo = tmp_path / "ticket.png"
    buf = io.BytesIO()
    Image.new("RGB", (60, 40), (20, 90, 200)).save(buf, "PNG")
    photo.write_bytes(buf.getvalue())

    page = browser.new_page(viewport=LAPTOP)
    live.login(page, "ztca")
    page.goto(f"{live.url}/portal")
    page.wait_for_selector("#violations tbody tr[data-id]")
    expect(page.locator("#apply-map .map-legend")).to_contain_text("申请路线")  # the map says what it shows
    row = page.locator(f"#violations tr[data-id='{made[0]}']")
    assert "超速行驶" in row.inner_text() and "可申诉" in row.inner_text()
    # apply for a permit for the second truck (no route drawn: a straight line between the sites)
    page.check("#apply-vehicles input[type=checkbox] >> nth=1")
    page.click("#apply button[type=submit]")
    page.wait_for_selector("#apply-msg:has-text('已提交')")  # shown once the tables were reloaded
    assert "待审核" in page.inner_text("#permits")
    # appeal the violation with a photo
    row.locator(".appeal-btn").click()
    row.locator("textarea").fill("执行应急抢险运输任务，附调度单")
    row.locator("input[type=file]").set_input_files(str(photo))
    row.locator("button[type=submit]").click()
    page.wait_for_selector(f"#violations tr[data-id='{made[0]}'] td.status:has-text('申诉中')")
    screenshot(page, "fleet-portal")
    page.close()

    page = browser.new_page(viewport=LAPTOP)
    live.login(page, "cgj")
    page.goto(f"{live.url}/console/fleet")
    page.wait_for_selector("#pending-appeals tbody tr[data-id]")
    assert "执行应急抢险运输任务" in page.inner_text("#pending-appeals")
    assert "ticket.png" in page.inner_text("#pending-appeals")
    page.click("#pending-permits button.approve")
    page.wait_for_selector("#pending-permits:has-text('没有待审核的核准')")
    page.click("#pending-appeals button.cancel")
    page.fill(".ask-dialog textarea", "调度单属实，撤销")  # the reason is asked in a dialog (never window.prompt)
    page.click(".ask-dialog button[value=ok]")
    page.wait_for_selector("#pending-appeals:has-text('没有待复核的申诉')")
    page.wait_for_selector("#latest:has-text('已撤销')")
    page.click("#track-load")
    page.wait_for_selector("#track-info:has-text('9 个定位点')")
    screenshot(page, "fleet-console")
    page.close()

    public = browser.new_page(viewport=LAPTOP)  # no login
    public.goto(f"{live.url}/public/permits")
    assert public.locator("#public-permits tbody tr").count() == 2
    assert "皖MB0002" in public.inner_text("#public-permits")
    public.close()
