"""Administration and oversight pages in Chromium: add a user, retire a rule, change a day and a limit."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.test_console_loop import _report_by_hotline
from tests.live import LAPTOP, browser, live, screenshot  # noqa: F401


def _admin(browser, live, path: str):  # noqa: F811
    page = browser.new_page(viewport=LAPTOP)
    live.login(page, "admin")
    page.goto(f"{live.url}{path}")
    return page


def test_add_a_user_and_log_in_as_them(live, browser):  # noqa: F811
    page = _admin(browser, live, "/console/admin/users")
    page.fill("#add-user [name=username]", "dispatcher2")
    page.fill("#add-user [name=display_name]", "派遣员二")
    page.fill("#add-user [name=password]", "a-long-password")
    page.select_option("#add-user [name=roles]", ["dispatcher"])
    page.click("#add-user button")
    page.wait_for_selector("text=dispatcher2")
    screenshot(page, "admin-users")
    page.close()
    page = browser.new_page(viewport=LAPTOP)
    live.login(page, "dispatcher2", "a-long-password")
    assert "派遣员二" in page.inner_text("header")
    page.close()


def test_rules_calendar_and_limits(live, browser):  # noqa: F811
    page = _admin(browser, live, "/console/admin/routing")
    page.on("dialog", lambda d: d.accept())
    rows = page.locator("table.grid tbody tr").count()
    page.locator("button:has-text('停用')").first.click()
    expect(page.locator("table.grid tbody tr")).to_have_count(rows - 1)
    page.goto(f"{live.url}/console/admin/calendar")
    page.fill("#calendar-form [name=day]", "2026-12-31")
    page.fill("#calendar-form [name=note]", "跨年夜")
    page.click("#calendar-form button")
    page.wait_for_selector("text=跨年夜")
    assert "休息日" in page.inner_text("table.grid")
    page.goto(f"{live.url}/console/admin/catalog?major=06")
    form = "form[data-api='PATCH /api/v1/catalog/categories/06010/conditions/01']"
    page.fill(f"{form} [name=limit]", "3h")
    page.click(f"{form} button")
    page.wait_for_load_state("networkidle")
    assert page.input_value(f"{form} [name=limit]") == "3h"
    page.goto(f"{live.url}/console/admin/grids")
    page.wait_for_selector("#grid-map path.leaflet-interactive")
    screenshot(page, "admin-grids")
    page.close()


def test_only_admins_open_administration(live, browser):  # noqa: F811
    page = browser.new_page(viewport=LAPTOP)
    live.login(page, "lead1")
    response = page.goto(f"{live.url}/console/admin/users")
    assert response.status == 403 and "管理员" in page.inner_text("main")
    page.close()


def test_the_oversight_page_lists_overdue_cases(live, browser):  # noqa: F811
    case = _report_by_hotline(live)
    live.clock.advance(hours=3)  # 受理 was due in 30 working minutes
    page = browser.new_page(viewport=LAPTOP)
    live.login(page, "leader1")
    page.goto(f"{live.url}/console/overview")
    assert case["number"] in page.inner_text("main")
    screenshot(page, "leader-overview")
    page.close()
