"""The login page in a real browser: a dispatcher logs in and lands on a console that follows the role."""

from __future__ import annotations

from tests.live import LAPTOP, browser, live, screenshot  # noqa: F401


def test_login_in_the_browser(live, browser):  # noqa: F811
    page = browser.new_page(viewport=LAPTOP)
    live.login(page, "dispatcher1")
    assert page.url.endswith("/console")
    assert "派遣员" in page.inner_text("header")
    screenshot(page, "console-dispatcher")
    page.click("text=English")
    assert "Dispatcher" in page.inner_text("header")
    page.close()


def test_logout_in_the_browser(live, browser):  # noqa: F811
    page = browser.new_page(viewport=LAPTOP)
    live.login(page, "dispatcher1")
    page.click("header form[action='/logout'] button")  # the form carries its CSRF token
    page.wait_for_load_state("networkidle")
    assert page.url.endswith("/login")
    page.goto(f"{live.url}/console")
    assert "/login" in page.url
    page.close()
