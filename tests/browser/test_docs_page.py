"""/docs in a real browser: Swagger UI from our own vendor files renders the API under the app's strict script
policy (nonce for its start-up script), with no CSP violation and no request to another host."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.live import LAPTOP, browser, live, offline_guard  # noqa: F401


def test_swagger_ui_renders_without_csp_violations(live, browser):  # noqa: F811
    page = browser.new_page(viewport=LAPTOP)
    outside = offline_guard(page)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    r = page.goto(f"{live.url}/docs")
    policy = r.headers["content-security-policy"]
    assert "'unsafe-inline'" not in policy.split("script-src", 1)[1].split(";")[0] and "'nonce-" in policy
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("CityLoop", timeout=30_000)  # a big schema
    expect(page.locator(".opblock").first).to_be_visible()
    page.locator(".opblock-summary-control").first.click()
    expect(page.locator(".opblock.is-open")).to_be_visible()
    assert errors == [] and outside == []
    page.close()
