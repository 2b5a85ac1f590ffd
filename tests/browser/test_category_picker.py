"""The category picker in headless Chromium: pinyin initials ("ldbl") find the street-lamp matter in the hotline
form, the free-text description brings 占道经营 as a suggestion chip, and the picker fills the form's category."""

from __future__ import annotations

from playwright.sync_api import expect

from cityloop.state import app_state
from cityloop.catalog import suggest
from cityloop.catalog.domain import GBT
from cityloop.catalog.service import load_catalog
from tests.live import PHONE, browser, live, offline_guard, screenshot  # noqa: F401


def _full_catalog(live):  # noqa: F811
    with app_state(live.app).session_factory() as session:
        load_catalog(session, GBT)
        session.commit()
        suggest.invalidate()
        suggest.picker(session, GBT)  # built once per process (jieba's dictionary takes seconds on a busy machine)


def test_hotline_picker_by_pinyin_initials_and_suggestion_chip(live, browser):  # noqa: F811
    _full_catalog(live)
    context = browser.new_context(viewport=PHONE, locale="zh-CN")
    page = context.new_page()
    outside = offline_guard(page)
    live.login(page, "operator1")
    page.goto(f"{live.url}/console/hotline")
    page.fill("input.cat-search", "ldbl")
    first = page.locator(".cat-list li").first
    expect(first).to_contain_text("路灯")
    first.dispatch_event("mousedown")
    expect(page.locator("select[name=category_code]")).to_have_value("01037")
    page.fill("textarea[name=description]", "有人在路边摆摊卖水果")
    chip = page.locator(".cat-chips button.chip[data-code='09006']")
    expect(chip).to_have_text("占道经营")
    screenshot(page, "channels-category-picker")
    chip.click()
    expect(page.locator("select[name=category_code]")).to_have_value("09006")
    # recent categories come first on an empty search
    page.fill("input.cat-search", "")
    page.focus("input.cat-search")
    expect(page.locator(".cat-list li").first).to_contain_text("占道经营")
    assert outside == []
    context.close()


def test_public_report_picker_by_characters(live, browser):  # noqa: F811
    _full_catalog(live)
    context = browser.new_context(viewport=PHONE, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{live.url}/m/report")
    page.fill("input.cat-search", "井盖")
    expect(page.locator(".cat-list li").first).to_contain_text("井盖")
    page.fill("textarea[name=description]", "下水道井盖没了")
    expect(page.locator(".cat-chips button.chip").first).to_contain_text("井盖")
    context.close()
