"""The whole closed loop through the console pages in Chromium, each step by the role that owns it."""

from __future__ import annotations

import io
import re

import httpx
from playwright.sync_api import expect
from PIL import Image

from cityloop.org.security import issue_token
from tests.live import LAPTOP, browser, live, offline_guard, screenshot  # noqa: F401


def _report_by_hotline(live) -> dict:  # noqa: F811
    token = issue_token(live.settings.secret_key, live.world.users["operator1"].id, "operator1", live.clock.now(), 60)
    lon, lat = live.world.point("341122100001002")
    body = {"category_code": "06010", "lon": lon, "lat": lat, "description": "市民来电：路口垃圾堆积",
            "source": "hotline", "reporter_phone": "13812345678", "address": "北门路口"}
    r = httpx.post(f"{live.url}/api/v1/cases", json=body, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 201, r.text
    return r.json()


def _act(page, action: str, fill: dict | None = None, files: dict | None = None) -> None:
    form = f"form[data-action={action}]"
    if not page.is_visible(form):
        page.click(f"details:has({form}) > summary")
    for field, value in (fill or {}).items():
        target = f"{form} [name={field}]"
        if page.get_attribute(target, "type") == "checkbox":
            page.check(target)
        elif page.evaluate(f"document.querySelector('{target}').tagName") == "SELECT":
            page.select_option(target, value)
        else:
            page.fill(target, value)
    for field, payload in (files or {}).items():
        page.set_input_files(f"{form} [name={field}]", payload)
    page.click(f"{form} button[type=submit]")
    page.wait_for_selector("#action-message.ok")


def _jpeg() -> dict:
    buf = io.BytesIO()
    Image.new("RGB", (320, 240), (40, 160, 60)).save(buf, "JPEG")
    return {"name": "after.jpg", "mimeType": "image/jpeg", "buffer": buf.getvalue()}


# Internal words that must never reach a Chinese page: stage, role, source and light codes, and empty values.
CODES = re.compile(r"\b(reported|accepted|verifying|filing|dispatched|handled|checking|closing|closed|suspended|"
                   r"rejected|void|merged|operator|dispatcher|inspector|shift_lead|leader|department|hotline|public|"
                   r"sensor|fleet|video|green|yellow|red|extension|suspension|None|null|undefined|NaN|true|false)\b")


def _plain_chinese(page) -> None:
    """No internal code in the page's text, and no script error in the browser console."""
    text = page.inner_text("main")
    assert not CODES.findall(text), f"codes on the page: {sorted(set(CODES.findall(text)))}"
    assert page.errors == [], page.errors


def _as(browser, live, username: str, case_id: int):  # noqa: F811
    page = browser.new_page(viewport=LAPTOP)
    page.outside = offline_guard(page)
    page.errors = []
    page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    live.login(page, username)
    page.goto(f"{live.url}/console/cases/{case_id}")
    return page


def test_the_closed_loop_through_the_pages(live, browser):  # noqa: F811
    case = _report_by_hotline(live)
    steps = [
        ("operator1", "accept", None, None, "核实中"),
        ("inspector01", "verify_ok", {"note": "现场属实"}, None, "待立案"),
        ("lead1", "file", {"condition_code": "01"}, None, "待派遣"),
        ("dispatcher1", "dispatch", {"department_code": "d01"}, None, "处置中"),
        ("d01", "handle", {"result": "已清运完毕"}, {"photos": _jpeg()}, "待核查"),
        ("inspector01", "check_ok", {"note": "已整改"}, None, "待结案"),
        ("lead1", "close", {"callback": "已电话回访，市民确认已清运", "rating": "满意"}, None, "已结案"),
    ]
    for username, action, fill, files, stage_after in steps:
        page = _as(browser, live, username, case["id"])
        assert page.is_visible(f"form[data-action={action}]") or page.is_visible(
            f"details:has(form[data-action={action}])"), f"{username} cannot {action}"
        if action == "file":  # the shift lead sees when handling will be due before filing
            expect(page.locator(".deadline-preview b")).to_have_text("2026-11-23 15:00")
        _plain_chinese(page)
        _act(page, action, fill, files)
        assert stage_after in page.inner_text(".case-head")
        _plain_chinese(page)
        assert page.outside == []  # nothing was fetched from outside the server
        screenshot(page, f"case-{action}")
        page.close()
    page = _as(browser, live, "lead1", case["id"])
    history = page.inner_text("ol.timeline")
    for name in ("上报", "受理", "核实属实", "立案", "派遣", "处置反馈", "核查通过", "结案", "满意"):
        assert name in history
    _plain_chinese(page)
    assert page.locator(".photos img").count() == 1 and "处置反馈" in page.inner_text(".photos")  # the after photo
    page.close()


def test_wrong_role_sees_no_actions_and_errors_are_shown(live, browser):  # noqa: F811
    case = _report_by_hotline(live)
    page = _as(browser, live, "dispatcher1", case["id"])
    actions = {f.get_attribute("data-action") for f in page.locator("form.action-form").all()}
    assert actions == {"annotate", "request_void"}  # a dispatcher may only note or apply for 作废 before dispatch
    page.close()
    page = _as(browser, live, "operator1", case["id"])
    page.click("details:has(form[data-action=reject]) > summary")
    page.click("form[data-action=reject] button[type=submit]")  # no reason given
    page.wait_for_selector("#action-message.error")
    assert "note" in page.inner_text("#action-message") or "原因" in page.inner_text("#action-message")
    page.close()


def test_inbox_and_case_list(live, browser):  # noqa: F811
    case = _report_by_hotline(live)
    page = browser.new_page(viewport=LAPTOP)
    live.login(page, "operator1")
    page.goto(f"{live.url}/console/inbox")
    assert case["number"] in page.inner_text("table.inbox")
    page.click(f"text={case['number']}")
    assert case["number"] in page.inner_text(".case-head")
    page.goto(f"{live.url}/console/cases?stage=reported")
    assert case["number"] in page.inner_text("table.grid")
    screenshot(page, "console-cases")
    page.close()
