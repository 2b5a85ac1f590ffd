"""The 12345 page in headless Chromium: an operator sees parked 工单 with their reasons, fixes one (category and a
point) and accepts it as a case, and returns another (退单) with a reason — no inline script, no outside request."""

from __future__ import annotations

import json

import httpx
from playwright.sync_api import expect
from pydantic import SecretStr
from sqlalchemy import select

from cityloop.state import app_state
from cityloop.cases.models import Case
from cityloop.workorders.domain import sign
from cityloop.workorders.models import WorkOrder
from tests.live import LAPTOP, browser, live, offline_guard, screenshot  # noqa: F401

SECRET = "browser-test-shared-secret-0123456789"


def _push(live, doc):  # noqa: F811
    body = json.dumps(doc, ensure_ascii=False).encode()
    stamp = str(int(live.clock.now().timestamp()))
    r = httpx.post(f"{live.url}/api/v1/workorders/12345", content=body, headers={
        "content-type": "application/json", "X-12345-Timestamp": stamp, "X-12345-Signature": sign(SECRET, stamp, body)})
    assert r.status_code == 201 and r.json()["status"] == "parked", r.text


def test_operator_fixes_and_returns_parked_orders(live, browser):  # noqa: F811
    live.settings.workorder_secret = SecretStr(SECRET)
    _push(live, {"工单编号": "GD-B-1", "诉求内容": "路边垃圾没人管", "诉求分类": "暴露垃圾", "办理时限": "2026-11-25 18:00"})
    _push(live, {"工单编号": "GD-B-2", "诉求内容": "学校乱收费", "诉求地址": "某小学", "诉求分类": "教育/收费"})
    page = browser.new_context(viewport=LAPTOP, locale="zh-CN").new_page()
    outside = offline_guard(page)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    live.login(page, "operator1")
    page.goto(f"{live.url}/console/workorders")
    first = page.locator("article.wo", has_text="GD-B-1")
    expect(first).to_contain_text("工单没有诉求地址")
    expect(page.locator("article.wo", has_text="GD-B-2")).to_contain_text("未知的诉求分类")
    screenshot(page, "workorders-parked")
    lon, lat = live.world.point("341122100001001")
    first.locator("input[name=category_code]").fill("06010")
    first.locator("input[name=lon]").fill(str(lon))
    first.locator("input[name=lat]").fill(str(lat))
    first.get_by_role("button", name="修正并受理").click()
    expect(page.locator("#msg")).to_contain_text("GD-B-1：已转案件")
    expect(page.locator("article.wo", has_text="GD-B-1")).to_have_count(0)
    second = page.locator("article.wo", has_text="GD-B-2")
    second.locator("input[name=reason]").fill("不属于城管职责")
    second.get_by_role("button", name="退单").click()
    expect(page.locator("#msg")).to_contain_text("GD-B-2：已退单")
    expect(page.locator("#parked")).to_contain_text("没有待处理的工单")
    expect(page.locator("#recent")).to_contain_text("已退单")
    with app_state(live.app).session_factory() as session:
        case = session.scalar(select(Case).join(WorkOrder, WorkOrder.case_id == Case.id)
                              .where(WorkOrder.external_no == "GD-B-1"))
        assert case.stage == "accepted" and case.category_code == "06010"
        assert session.scalar(select(WorkOrder.status).where(WorkOrder.external_no == "GD-B-2")) == "returned"
    expect(page.locator("#recent a", has_text=case.number)).to_be_visible()
    assert outside == [] and errors == []
