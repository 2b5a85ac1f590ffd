"""案件查询 in Chromium: filter by keyword and source, save the search, open it again, export to Excel."""

from __future__ import annotations

from io import BytesIO

import httpx
from openpyxl import load_workbook
from playwright.sync_api import expect

from cityloop.org.security import issue_token
from tests.live import LAPTOP, browser, live, offline_guard, screenshot  # noqa: F401


def _report(live, description, source):  # noqa: F811
    token = issue_token(live.settings.secret_key, live.world.users["operator1"].id, "operator1", live.clock.now(), 60)
    lon, lat = live.world.point("341122100001002")
    body = {"category_code": "06010", "lon": lon, "lat": lat, "description": description, "source": source,
            "address": "北门路口"}
    r = httpx.post(f"{live.url}/api/v1/cases", json=body, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 201, r.text
    return r.json()


def test_search_save_and_export(live, browser):  # noqa: F811
    hot = _report(live, "来电：井边垃圾", "hotline")
    pub = _report(live, "公众：井边垃圾", "public")
    page = browser.new_page(viewport=LAPTOP)
    outside = offline_guard(page)
    live.login(page, "dispatcher1")
    page.goto(f"{live.url}/console/cases")
    page.fill("#case-search input[name=q]", "井边")
    page.select_option("#case-search select[name=source]", "hotline")
    page.click("#case-search button")
    expect(page.locator("table.grid")).to_contain_text(hot["number"])
    expect(page.locator("table.grid")).not_to_contain_text(pub["number"])
    expect(page.locator("table.grid")).to_contain_text("热线")
    page.fill("#save-filter input[name=name]", "热线井边")
    page.click("#save-filter button")
    page.wait_for_load_state("networkidle")
    page.goto(f"{live.url}/console/cases")
    page.click("text=热线井边")
    expect(page.locator("table.grid")).to_contain_text(hot["number"])
    expect(page.locator("table.grid")).not_to_contain_text(pub["number"])
    screenshot(page, "console-case-search")
    with page.expect_download() as info:
        page.click("#export-xlsx")
    rows = list(load_workbook(BytesIO(open(info.value.path(), "rb").read())).active.iter_rows(values_only=True))
    assert rows[0][0] == "案件编号" and [r[0] for r in rows[1:]] == [hot["number"]] and rows[1][3] == "热线"
    assert outside == []
