"""The public ranking page (no login) and the console's assessment with its drill-down, in Chromium."""

from __future__ import annotations

from datetime import datetime

import httpx

from cityloop.org.security import issue_token
from tests.conftest import SHANGHAI
from cityloop.assessment.method import preset_path
from tests.live import LAPTOP, PHONE, browser, live, screenshot  # noqa: F401


def _api(live, username: str):  # noqa: F811
    token = issue_token(live.settings.secret_key, live.world.users[username].id, username, live.clock.now(), 60)

    def call(path: str, body: dict | None = None) -> dict:
        r = httpx.post(f"{live.url}{path}", json=body, headers={"Authorization": f"Bearer {token}"})
        assert r.status_code in (200, 201), r.text
        return r.json()

    return call


def _october(live) -> list[str]:  # noqa: F811
    """Two cases for d01 in the last week of October 2026: one closed in time, one left open (overdue)."""
    live.clock.set(datetime(2026, 10, 26, 9, 0, tzinfo=SHANGHAI))
    numbers = []
    for finish in (True, False):
        lon, lat = live.world.point("341122100001001")
        case = _api(live, "inspector01")("/api/v1/cases", {"category_code": "06010", "lon": lon, "lat": lat,
                                                           "description": "路边暴露垃圾"})
        steps = [("operator1", "accept", None), ("lead1", "file", None), ("dispatcher1", "dispatch", None)]
        if finish:
            steps += [("d01", "handle", {"result": "已清理"}), ("inspector01", "check_ok", None),
                      ("lead1", "close", None)]
        for user, action, body in steps:
            _api(live, user)(f"/api/v1/cases/{case['id']}/actions/{action}", body)
        numbers.append(case["number"])
    live.clock.set(datetime(2026, 11, 2, 9, 0, tzinfo=SHANGHAI))
    _api(live, "leader1")("/api/v1/assessment/periods/2026-10/publish", {"note": "十月通报"})
    return numbers


def test_public_rankings_and_the_console_drill_down(live, browser):  # noqa: F811
    numbers = _october(live)
    page = browser.new_page(viewport=PHONE)
    page.goto(f"{live.url}/public/rankings")  # no login
    text = page.inner_text("main")
    assert "2026年10月" in text and "已正式发布" in text and "县城管执法局" in text
    assert "一级部门（县直部门）" in text and "二级单位（乡镇街道）" in text
    screenshot(page, "assessment-public-rankings")
    page.close()

    page = browser.new_page(viewport=LAPTOP)
    live.login(page, "leader1")
    page.goto(f"{live.url}/console")
    page.click("summary:has-text('督查考评')")  # the header's 督查考评 menu
    page.click("header a:has-text('综合评价')")
    page.wait_for_url("**/console/assessment**")
    page.goto(f"{live.url}/console/assessment?period=2026-10&kind=department")
    row = page.locator("tr", has_text="县城管执法局")
    assert row.locator("td").nth(3).inner_text().strip() in "ABCDE"
    assert page.locator("#period-choices option[value='2026-10']").count() == 1  # the period picker's months
    assert page.locator(".score-chart").count() == 0  # this small world's units are under the minimum volume
    method = live.settings.media_dir.parent / "method.toml"  # … which a deployment may turn off
    method.write_text(preset_path("reference").read_text(encoding="utf-8").replace("min_volume = 5", "min_volume = 0"),
                      encoding="utf-8")
    live.settings.assessment_method_file = str(method)
    page.click("text=上一期")
    page.wait_for_load_state("networkidle")
    assert "2026年9月" in page.inner_text("h1")
    page.goto(f"{live.url}/console/assessment?period=2026-10-01..2026-10-31&kind=department")  # computed live
    page.wait_for_selector(".score-chart canvas")  # a score chart above the ranking
    screenshot(page, "assessment-console")
    page.goto(f"{live.url}/console/assessment?period=2026-10&kind=department")
    row.locator("a.figure-link[href*='figure=handle_due']").click()
    page.wait_for_load_state("networkidle")
    listed = page.inner_text("table")
    assert all(n in listed for n in numbers) and "应处置数" in page.inner_text("h1")
    page.click("text=返回排名")
    row = page.locator("tr", has_text="县城管执法局")
    row.locator("a.figure-link[href*='figure=overdue_open']").click()
    page.wait_for_load_state("networkidle")
    assert numbers[1] in page.inner_text("table") and numbers[0] not in page.inner_text("table")
    page.click(f"text={numbers[1]}")  # on to the case itself
    page.wait_for_load_state("networkidle")
    assert numbers[1] in page.inner_text("main")
    page.close()

    page = browser.new_page(viewport=LAPTOP)
    live.login(page, "d02")
    page.goto(f"{live.url}/console/assessment?period=2026-10")
    assert "县住建局" in page.inner_text("main") and "县城管执法局" not in page.inner_text("main")
    page.goto(f"{live.url}/console/assessment?period=2026-10&kind=street")
    assert "部门只能查看本部门" in page.inner_text("main")
    page.close()
