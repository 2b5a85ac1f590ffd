"""部门处置通 (/m/department) in headless Chromium at phone size (390×844): the list by deadline with traffic lights,
a case with its photo, map, distance and timeline, handling with photos online and offline (queued, pending, sent
exactly once), a 延期 request and its approval, and another department seeing none of it."""

from __future__ import annotations

import io
import json
import re

import httpx
import pytest
from PIL import Image
from playwright.sync_api import expect

from cityloop.org.security import issue_token
from tests.live import PHONE, browser, live, offline_guard, screenshot  # noqa: F401

pytestmark = pytest.mark.slow  # a live server and Chromium: 7–15 s each


def _jpeg(colour=(120, 60, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (400, 300), colour).save(buf, "JPEG")
    return buf.getvalue()


def _photo(tmp_path, name, colour=(30, 160, 60)) -> str:
    path = tmp_path / name
    path.write_bytes(_jpeg(colour))
    return str(path)


def _api(live, username):  # noqa: F811
    token = issue_token(live.settings.secret_key, live.world.users[username].id, username, live.clock.now(), 3600)
    return httpx.Client(base_url=live.url, headers={"Authorization": f"Bearer {token}"})


def _dispatched(live, text, to="d01", grid="341122100001002"):  # noqa: F811
    """A case reported with a photo and dispatched to a department."""
    lon, lat = live.world.point(grid)
    body = {"category_code": "06010", "lon": lon, "lat": lat, "description": text, "address": "新安镇人民路"}
    r = _api(live, "inspector01").post("/api/v1/cases", data={"data": json.dumps(body)},
                                       files=[("photos", ("p.jpg", _jpeg(), "image/jpeg"))])
    assert r.status_code == 201, r.text
    case = r.json()
    for user, action, extra in [("operator1", "accept", {}), ("lead1", "file", {}),
                                ("dispatcher1", "dispatch", {"department_code": to})]:
        r = _api(live, user).post(f"/api/v1/cases/{case['id']}/actions/{action}", json=extra or None)
        assert r.status_code == 200, r.text
    return r.json()


def _case(live, case):  # noqa: F811
    return _api(live, "lead1").get(f"/api/v1/cases/{case['id']}").json()


def _events(live, case, action):  # noqa: F811
    events = _api(live, "lead1").get(f"/api/v1/cases/{case['id']}/events").json()
    return [e for e in events if e["action"] == action]


def _app(live, browser, user="d01", service_workers="allow"):  # noqa: F811
    lon, lat = live.world.point("341122100001001")
    context = browser.new_context(viewport=PHONE, locale="zh-CN", service_workers=service_workers,
                                  geolocation={"longitude": lon, "latitude": lat}, permissions=["geolocation"])
    page = context.new_page()
    outside = offline_guard(page)
    live.login(page, user)
    page.goto(f"{live.url}/m/department")
    return context, page, outside


def test_department_sees_its_cases_by_deadline_and_handles_one(live, browser, tmp_path):  # noqa: F811
    late = _dispatched(live, "早先派遣的暴露垃圾")
    live.clock.advance(days=3, hours=5)
    fresh = _dispatched(live, "刚派遣的暴露垃圾")
    _api(live, "leader1").post(f"/api/v1/cases/{fresh['id']}/actions/supervise", json={"note": "请尽快处置"})
    context, page, outside = _app(live, browser)
    items = page.locator("#cases li.dept-case")
    expect(items).to_have_count(2)
    first, second = items.nth(0), items.nth(1)
    expect(first).to_have_attribute("data-case", late["number"])  # the overdue one first
    expect(first.locator(".light.red")).to_have_count(1)
    expect(first.locator(".due")).to_have_text("超时 2 天 23 小时")  # due Monday 15:00, now Thursday 14:00
    expect(second.locator(".light.green")).to_have_count(1)
    expect(second.locator(".due")).to_have_text(re.compile(r"^剩余 \d+ 小时$"))
    expect(second.locator(".flag.supervise")).to_have_text("督办")
    expect(first).to_contain_text("暴露垃圾")  # the category's name, not its code
    screenshot(page, "department-list")
    second.click()
    expect(page.locator("#c-number")).to_have_text(fresh["number"])
    expect(page.locator("#c-category")).to_have_text("暴露垃圾")
    expect(page.locator("#c-description")).to_have_text("刚派遣的暴露垃圾")
    expect(page.locator("#c-address")).to_have_text("新安镇人民路")
    thumb = page.locator("#c-photos img")
    expect(thumb).to_have_count(1)
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumb.element_handle())
    expect(page.locator("#case-map path.leaflet-interactive")).to_have_count(1)  # the case's place
    expect(page.locator("#c-distance")).to_contain_text("距您")
    expect(page.locator("#c-timeline")).to_contain_text("派遣")
    expect(page.locator("#c-timeline")).to_contain_text("督办")
    expect(page.locator("#c-nav")).to_have_attribute("href", re.compile(  # opens the phone's 高德地图 with the place
        re.escape(f"https://uri.amap.com/marker?position={fresh['lon']},{fresh['lat']}&coordinate=wgs84&callnative=1"
                  f"&name={fresh['number']}%20")))
    expect(page.locator("#c-geo")).to_have_attribute("href", re.compile(re.escape(f"geo:{fresh['lat']},{fresh['lon']}?q=")))
    screenshot(page, "department-case")
    page.click("#c-actions button[data-open=handle]")
    expect(page.locator("#handle-dialog")).to_be_visible()
    page.click("#handle-form button[type=submit]")
    expect(page.locator("#h-error")).to_contain_text("处置结果")  # said in the dialog, nothing sent
    page.fill("#handle-form textarea[name=result]", "已清运，现场已整洁")
    page.set_input_files("#handle-form input[name=before]", _photo(tmp_path, "before.jpg", (90, 90, 90)))
    page.set_input_files("#handle-form input[name=after]", _photo(tmp_path, "after.jpg"))
    screenshot(page, "department-handle")
    page.click("#handle-form button[type=submit]")
    expect(page.locator("#flash")).to_contain_text("已发送")
    got = _case(live, fresh)
    assert got["stage"] == "handled" and len(got["photos"]) == 3
    (handle,) = _events(live, fresh, "handle")
    assert handle["payload"]["before_photos"] == 1 and handle["payload"]["after_photos"] == 1
    page.click("#back")
    expect(items).to_have_count(1)  # handled: off the list, waiting for 核查
    assert outside == []
    context.close()


def test_handle_offline_waits_on_the_phone_and_is_sent_exactly_once(live, browser, tmp_path):  # noqa: F811
    case = _dispatched(live, "离线处置的案件")
    context, page, outside = _app(live, browser)
    assert page.evaluate("navigator.serviceWorker.ready.then(r => r.active !== null)")
    page.reload()  # the app opened again: the worker now keeps the list for an offline start
    page.wait_for_load_state("networkidle")
    page.locator(f"#cases li[data-case='{case['number']}']").click()
    expect(page.locator("#c-number")).to_have_text(case["number"])
    context.set_offline(True)
    expect(page.locator("#net")).to_have_text("离线")
    page.click("#c-actions button[data-open=handle]")
    page.fill("#handle-form textarea[name=result]", "离线处置完成")
    page.set_input_files("#handle-form input[name=after]", _photo(tmp_path, "after.jpg"))
    page.click("#handle-form button[type=submit]")
    expect(page.locator("#queued")).to_have_text("1")
    expect(page.locator("#c-pending")).to_contain_text("待发送")
    expect(page.locator("#c-actions button[data-open=handle]")).to_be_disabled()  # no second submission meanwhile
    expect(page.locator("#flash")).to_contain_text("已保存在手机上")
    screenshot(page, "department-offline-pending")
    assert _case(live, case)["stage"] == "dispatched"
    page.reload()  # offline, the service worker serves the app and the last list; the outbox is still there
    expect(page.locator("#queued")).to_have_text("1")
    expect(page.locator(f"#cases li[data-case='{case['number']}'] .pending")).to_contain_text("处置反馈")
    context.set_offline(False)
    expect(page.locator("#queued")).to_have_text("0", timeout=20_000)
    assert _case(live, case)["stage"] == "handled"
    assert len(_events(live, case, "handle")) == 1
    page.click("#tabs button[data-go=queue]")
    page.click("#send-now")  # a later flush has nothing left to send
    expect(page.locator("#outbox")).to_contain_text("没有待发送")
    assert len(_events(live, case, "handle")) == 1
    assert outside == []
    context.close()


def test_a_lost_answer_is_resent_with_its_key_and_handled_once(live, browser, tmp_path):  # noqa: F811
    # The page's own queue resends, not the service worker (which may fetch past page.route): run without one.
    case = _dispatched(live, "回复丢失的案件")
    context, page, _ = _app(live, browser, service_workers="block")
    keys = []

    def deliver_then_drop(route):
        route.fetch()  # the server handles the case ...
        keys.append(route.request.headers["idempotency-key"])
        route.abort()  # ... but the answer never reaches the phone

    page.route("**/actions/handle", deliver_then_drop)
    page.locator(f"#cases li[data-case='{case['number']}']").click()
    page.click("#c-actions button[data-open=handle]")
    page.fill("#handle-form textarea[name=result]", "已处置")
    page.set_input_files("#handle-form input[name=after]", _photo(tmp_path, "after.jpg"))
    page.click("#handle-form button[type=submit]")
    expect(page.locator("#flash")).to_contain_text("已保存在手机上")
    assert page.inner_text("#queued") == "1" and _case(live, case)["stage"] == "handled"
    page.unroute("**/actions/handle")
    sent = []
    page.on("request", lambda r: sent.append(r.headers.get("idempotency-key")) if r.url.endswith("/actions/handle") else None)
    page.click("#tabs button[data-go=queue]")
    page.click("#send-now")
    expect(page.locator("#queued")).to_have_text("0")
    assert sent == keys and len(_events(live, case, "handle")) == 1  # the same key: answered, not acted again
    context.close()


def test_extension_request_is_pending_then_approved(live, browser):  # noqa: F811
    case = _dispatched(live, "需要延期的案件")
    context, page, outside = _app(live, browser)
    page.locator(f"#cases li[data-case='{case['number']}']").click()
    page.click("#c-actions button[data-kind=extension]")
    expect(page.locator("#request-dialog")).to_be_visible()
    expect(page.locator("#r-title")).to_contain_text("申请延期")
    page.select_option("#request-form select[name=extension]", "2d")
    page.fill("#request-form textarea[name=note]", "需协调机械清运")
    screenshot(page, "department-extension")
    page.click("#request-form button[type=submit]")
    expect(page.locator("#c-requests li[data-status=pending]")).to_contain_text("待审批")
    expect(page.locator("#c-requests")).to_contain_text("延期")
    expect(page.locator("#c-actions button[data-open=handle]")).to_be_disabled()  # a pending request blocks handling
    got = _case(live, case)
    assert got["pending_request"] == "extension"
    (req,) = _events(live, case, "request_extension")
    assert req["payload"]["extension_minutes"] == 960 and req["payload"]["note"] == "需协调机械清运"
    r = _api(live, "dispatcher1").post(f"/api/v1/cases/{case['id']}/actions/approve", json={"note": "同意延期"})
    assert r.status_code == 200, r.text
    page.click("#tabs button[data-go=requests]")
    row = page.locator("#requests li[data-kind=extension]")
    expect(row).to_contain_text("已批准")
    expect(row).to_contain_text("同意延期")
    screenshot(page, "department-requests")
    assert outside == []
    context.close()


def test_another_department_neither_sees_nor_acts_on_the_case(live, browser):  # noqa: F811
    case = _dispatched(live, "一局的案件")
    theirs = _dispatched(live, "二局的案件", to="d02")
    context, page, _ = _app(live, browser, user="d02")
    expect(page.locator("#cases li.dept-case")).to_have_count(1)
    expect(page.locator("#cases li.dept-case")).to_have_attribute("data-case", theirs["number"])
    answer = page.evaluate("""async (id) => {
        const post = await fetch(`/api/v1/department/cases/${id}/actions/handle`, {method: "POST",
          headers: {"Content-Type": "application/json", "X-CSRF-Token": cityloop.csrf(), "Idempotency-Key": "x1"},
          body: JSON.stringify({result: "不是我的"})});
        const get = await fetch(`/api/v1/cases/${id}`);
        return [post.status, get.status];
    }""", case["id"])
    assert answer == [404, 404]
    assert _case(live, case)["stage"] == "dispatched"
    page.goto(f"{live.url}/m/department?lang=en")
    expect(page.locator("#cases li.dept-case .due")).to_contain_text("h left")
    expect(page.locator("#tabs")).to_contain_text("Requests")
    context.close()
    other = browser.new_context(viewport=PHONE, locale="zh-CN")
    page = other.new_page()
    live.login(page, "inspector01")
    assert page.goto(f"{live.url}/m/department").status == 403
    other.close()
