"""The big screen shows the county and updates live when the case loop moves."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.test_console_loop import _report_by_hotline
from tests.live import browser, live, offline_guard, screenshot  # noqa: F401

SCREEN = {"width": 1920, "height": 1080}


def _figure(page, key: str) -> str:
    return page.inner_text(f"#figures b[data-k={key}]")


def test_the_big_screen_updates_live(live, browser):  # noqa: F811
    _report_by_hotline(live)
    page = browser.new_page(viewport=SCREEN)
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    outside = offline_guard(page)
    live.login(page, "leader1")
    page.goto(f"{live.url}/screen")
    expect(page.locator("#figures b[data-k=reported]")).not_to_have_text("–")
    assert _figure(page, "reported") == "1" and _figure(page, "open") == "1"
    markers = page.locator("#map path.leaflet-interactive")
    markers.nth(2).wait_for()  # two duty grids and the case
    before = markers.count()
    _report_by_hotline(live)  # a new report arrives while the screen is open: no reload
    expect(page.locator("#figures b[data-k=reported]")).to_have_text("2", timeout=10_000)
    assert markers.count() == before + 1
    assert "上报" in page.inner_text("#feed")
    assert page.locator("#trend canvas").count() == 1
    screenshot(page, "screen")
    assert errors == [] and outside == []
    page.close()


def test_the_screen_is_for_staff(live, browser):  # noqa: F811
    page = browser.new_page(viewport=SCREEN)
    live.login(page, "d01")  # a department user
    response = page.request.get(f"{live.url}/api/v1/screen/summary")
    assert response.status == 403
    page.close()
