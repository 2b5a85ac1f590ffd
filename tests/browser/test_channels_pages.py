"""Channel pages in headless Chromium at phone size (390×844): 拍一拍 with a tracking code and a rating, the
inspector app's offline outbox (reports and task answers queued in IndexedDB, sent once back online, a lost answer
resent without a second case), and the hotline form with geocoding and nearby cases."""

from __future__ import annotations

import io
import json

import httpx
from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import func, select

from cityloop.state import app_state
from cityloop.cases.models import Case
from cityloop.channels.models import GazetteerEntry
from cityloop.org.security import issue_token
from tests.live import LAPTOP, PHONE, browser, live, offline_guard, screenshot  # noqa: F401


def _photo(tmp_path, name="photo.jpg", colour=(120, 60, 30)):
    path = tmp_path / name
    buf = io.BytesIO()
    Image.new("RGB", (400, 300), colour).save(buf, "JPEG")
    path.write_bytes(buf.getvalue())
    return str(path)


def _api(live, username):  # noqa: F811
    token = issue_token(live.settings.secret_key, live.world.users[username].id, username, live.clock.now(), 600)
    return httpx.Client(base_url=live.url, headers={"Authorization": f"Bearer {token}"})


def _cases(live) -> int:  # noqa: F811
    with app_state(live.app).session_factory() as session:
        return session.scalar(select(func.count(Case.id)))


def _act(live, case_id, steps):  # noqa: F811
    for user, action, body in steps:
        r = _api(live, user).post(f"/api/v1/cases/{case_id}/actions/{action}", json=body)
        assert r.status_code == 200, (action, r.text)


def test_public_report_status_and_rating(live, browser, tmp_path):  # noqa: F811
    lon, lat = live.world.point("341122100001004")
    context = browser.new_context(viewport=PHONE, geolocation={"longitude": lon, "latitude": lat},
                                  permissions=["geolocation"], locale="zh-CN")
    page = context.new_page()
    outside = offline_guard(page)
    page.goto(f"{live.url}/m/report")
    page.set_input_files("input[name=photos]", _photo(tmp_path))
    page.click("#gps")
    expect(page.locator("input[name=lon]")).not_to_have_value("")
    page.wait_for_selector("select[name=category_code] option[value='06010']", state="attached")
    page.select_option("select[name=category_code]", "06010")
    page.fill("textarea[name=description]", "小区门口垃圾堆放")
    page.fill("input[name=phone]", "13800138000")
    screenshot(page, "channels-report-form")
    page.click("button[type=submit]")
    page.wait_for_selector("#done:not([hidden])")
    code = page.inner_text("#tracking").strip()
    assert len(code) == 8 and _cases(live) == 1
    page.click("#status-link")
    assert "已收到" in page.inner_text("#stage")
    page.goto(f"{live.url}/m/report")  # following a report by its code is asked in a dialog, not window.prompt
    page.click("#follow")
    page.fill(".ask-dialog textarea", code)
    page.click(".ask-dialog button[value=ok]")
    page.wait_for_url(f"**/m/report/status/{code}")
    assert "已收到" in page.inner_text("#stage")
    with app_state(live.app).session_factory() as session:
        case_id = session.scalar(select(Case.id))
    _act(live, case_id, [("operator1", "accept", {}), ("inspector01", "verify_ok", {}), ("lead1", "file", {}),
                         ("dispatcher1", "dispatch", {"department_code": "d01"}), ("d01", "handle", {"result": "清运"}),
                         ("inspector01", "check_ok", {}), ("lead1", "close", {})])
    page.reload()
    assert "已办结" in page.inner_text("#stage")
    page.click("#rate button[data-rating='满意']")
    page.wait_for_selector("#rated")
    assert "满意" in page.inner_text("#rated") and not page.query_selector("#rate")
    screenshot(page, "channels-report-status")
    assert outside == []  # nothing is fetched from another host
    context.close()


def _inspector_page(live, browser, service_workers="allow"):  # noqa: F811
    context = browser.new_context(viewport=PHONE, locale="zh-CN", service_workers=service_workers)
    page = context.new_page()
    live.login(page, "inspector01")
    page.goto(f"{live.url}/m/inspector")
    page.wait_for_selector("select[name=category_code] option[value='06010']", state="attached")
    return context, page


def _fill_report(page, live, tmp_path, text):  # noqa: F811
    lon, lat = live.world.point("341122100001002")
    page.click("#tabs button[data-go=report]")
    page.set_input_files("#report input[name=photos]", _photo(tmp_path, f"{text}.jpg"))
    page.fill("#report input[name=lon]", str(lon))
    page.fill("#report input[name=lat]", str(lat))
    page.select_option("#report select[name=category_code]", "06010")
    page.fill("#report textarea[name=description]", text)


def test_inspector_reports_offline_and_sends_once_online(live, browser, tmp_path):  # noqa: F811
    context, page = _inspector_page(live, browser)
    assert page.evaluate("navigator.serviceWorker.ready.then(r => r.active !== null)")
    context.set_offline(True)
    expect(page.locator("#net")).to_have_text("离线")
    for text in ("离线上报一", "离线上报二"):
        _fill_report(page, live, tmp_path, text)
        page.click("#report button[type=submit]")
        expect(page.locator("#queued")).to_have_text("1" if text.endswith("一") else "2")
    assert _cases(live) == 0
    page.click("#tabs button[data-go=queue]")
    assert page.locator("#outbox li").count() == 2
    screenshot(page, "channels-inspector-offline")
    page.reload()  # offline, the service worker serves the app; the outbox is still there
    expect(page.locator("#queued")).to_have_text("2")
    context.set_offline(False)
    expect(page.locator("#queued")).to_have_text("0", timeout=20_000)
    assert _cases(live) == 2
    context.close()


def test_a_lost_answer_is_resent_without_a_second_case(live, browser, tmp_path):  # noqa: F811
    # The page's own queue resends, not the service worker; once a worker controls the page, Chromium may fetch
    # past page.route, so this test runs without one (the offline tests above keep it).
    context, page = _inspector_page(live, browser, service_workers="block")
    lost = []

    def deliver_then_drop(route):
        route.fetch()  # the server gets the report and creates the case ...
        lost.append(route.request.headers["idempotency-key"])
        route.abort()  # ... but the answer never reaches the phone

    page.route("**/api/v1/cases", deliver_then_drop)
    _fill_report(page, live, tmp_path, "回复丢失")
    page.click("#report button[type=submit]")
    expect(page.locator("#flash")).to_contain_text("已保存在手机上")
    assert page.inner_text("#queued") == "1" and _cases(live) == 1 and len(lost) == 1
    page.unroute("**/api/v1/cases")
    sent = []
    page.on("request", lambda r: sent.append(r.headers.get("idempotency-key")) if r.url.endswith("/api/v1/cases") else None)
    page.click("#tabs button[data-go=queue]")
    page.click("#send-now")
    expect(page.locator("#queued")).to_have_text("0")
    assert sent == lost and _cases(live) == 1  # the same key again: the server answered with the first case
    context.close()


def test_inspector_answers_a_verify_task_offline(live, browser, tmp_path):  # noqa: F811
    lon, lat = live.world.point("341122100001003")
    r = _api(live, "operator1").post("/api/v1/cases", json={"category_code": "06010", "lon": lon, "lat": lat,
                                                            "description": "热线：垃圾", "source": "hotline"})
    case = r.json()
    _act(live, case["id"], [("operator1", "accept", {})])
    context, page = _inspector_page(live, browser)
    page.click("#tabs button[data-go=tasks]")
    item = page.locator(f"#tasks li[data-case='{case['number']}']")
    item.wait_for()
    assert "核实" in item.inner_text()
    context.set_offline(True)
    item.locator("button[data-action=verify_ok]").click()
    assert "照片" in page.inner_text("#flash")  # answering a task takes photos
    item.locator("input[name=photos]").set_input_files(_photo(tmp_path, "verify.jpg"))
    item.locator("button[data-action=verify_ok]").click()
    expect(page.locator("#queued")).to_have_text("1")
    context.set_offline(False)
    expect(page.locator("#queued")).to_have_text("0", timeout=20_000)
    got = _api(live, "lead1").get(f"/api/v1/cases/{case['id']}").json()
    assert got["stage"] == "accepted" and len(got["photos"]) == 1
    context.close()


def test_hotline_form_geocodes_and_shows_nearby_cases(live, browser):  # noqa: F811
    lon, lat = live.world.point("341122100001001")
    with app_state(live.app).session_factory() as session:
        session.add(GazetteerEntry(name="人民路", kind="road", address="新安镇", lon=lon, lat=lat, source="test"))
        session.commit()
    old = _api(live, "operator1").post("/api/v1/cases", json={"category_code": "06010", "lon": lon, "lat": lat,
                                                              "description": "早先的来电", "source": "hotline"}).json()
    context = browser.new_context(viewport=PHONE, locale="zh-CN")
    page = context.new_page()
    outside = offline_guard(page)
    live.login(page, "operator1")
    page.goto(f"{live.url}/console/hotline")
    page.fill("input[name=reporter_name]", "王女士")
    page.fill("input[name=reporter_phone]", "13900001111")
    page.fill("input[name=address]", "人民路128号")
    page.click("#cands li")
    page.wait_for_selector("select[name=category_code] option[value='06010']", state="attached")
    page.select_option("select[name=category_code]", "06010")
    expect(page.locator("#nearby")).to_contain_text(old["number"])
    page.fill("textarea[name=description]", "来电反映人民路垃圾")
    page.click("#hotline button[type=submit]")
    expect(page.locator("#msg")).to_contain_text("已保存")
    screenshot(page, "channels-hotline")
    with app_state(live.app).session_factory() as session:
        saved = session.scalars(select(Case).order_by(Case.id.desc())).first()
    assert (saved.source, saved.reporter_name, saved.reporter_phone) == ("hotline", "王女士", "13900001111")
    page.goto(f"{live.url}/console/intake")
    row = page.locator(f"article[data-number='{saved.number}']")
    row.locator("button.merge").click()
    page.click("#merge-dialog button[value=ok]")  # merging is confirmed in a dialog
    expect(page.locator("#msg")).to_contain_text("重复")
    with app_state(live.app).session_factory() as session:
        assert session.get(Case, saved.id).merged_into_id == old["id"]
    assert outside == []
    context.close()


def _jpeg_bytes(colour) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (400, 300), colour).save(buf, "JPEG")
    return buf.getvalue()


def test_intake_review_shows_photos_map_duplicates_and_rejects_through_a_dialog(live, browser):  # noqa: F811
    lon, lat = live.world.point("341122100001003")
    ops = _api(live, "operator1")

    def report(text, colour):
        body = {"category_code": "06010", "lon": lon, "lat": lat, "description": text, "source": "hotline",
                "reporter_name": "李先生", "address": "北门路口"}
        r = ops.post("/api/v1/cases", data={"data": json.dumps(body)},
                     files=[("photos", ("p.jpg", _jpeg_bytes(colour), "image/jpeg"))])
        assert r.status_code == 201, r.text
        return r.json()

    old = report("早先的垃圾上报", (200, 30, 30))
    new = report("路口垃圾又堆起来了", (30, 30, 200))
    context = browser.new_context(viewport=LAPTOP, locale="zh-CN")
    page = context.new_page()
    outside = offline_guard(page)
    live.login(page, "operator1")
    page.goto(f"{live.url}/console/intake")
    card = page.locator(f"article[data-number='{new['number']}']")
    expect(card).to_contain_text("热线")  # the channel's name, not its code
    expect(card).to_contain_text("李先生")
    thumb = card.locator(".review-body > div:first-child .thumbs img").first
    expect(thumb).to_be_visible()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumb.element_handle())
    expect(card.locator(".review-map path.leaflet-interactive")).to_have_count(1)  # the pin
    dup = card.locator(".dup")
    expect(dup).to_contain_text(old["number"])  # the candidate beside it, with its own photo
    expect(dup.locator(".thumbs img")).to_have_count(1)
    thumb.click()
    expect(page.locator("#photo-dialog img")).to_be_visible()
    screenshot(page, "channels-intake-photo")
    page.click("#photo-dialog button")
    card.locator("button.reject").click()
    expect(page.locator("#reject-dialog")).to_be_visible()
    page.fill("#reject-dialog textarea[name=note]", "非城管职责，已告知来电人转交物业")
    page.click("#reject-dialog button[value=ok]")
    expect(page.locator("#msg")).to_contain_text(new["number"])
    expect(page.locator(f"article[data-number='{new['number']}']")).to_have_count(0)
    screenshot(page, "channels-intake")
    with app_state(live.app).session_factory() as session:
        assert session.get(Case, new["id"]).stage == "rejected"
    events = ops.get(f"/api/v1/cases/{new['id']}/events").json()
    assert events[-1]["action"] == "reject" and events[-1]["payload"]["note"].startswith("非城管职责")
    assert outside == []
    context.close()
