"""The operator's day in the browser: 城管通 task cards (description, the reporter's photo, a small map, the distance
from the phone, navigation links, badges that match the list), 部门处置通's case the same way, a legend with Chinese
labels on every map, and a staff header that stays one line high at 1366×768."""

from __future__ import annotations

import io
import json

import httpx
import pytest
from PIL import Image
from playwright.sync_api import expect

from cityloop.org.security import issue_token
from tests.live import LAPTOP, PHONE, browser, live, offline_guard, screenshot  # noqa: F401

pytestmark = pytest.mark.slow  # a live server and Chromium


def _jpeg(colour=(120, 60, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (400, 300), colour).save(buf, "JPEG")
    return buf.getvalue()


def _api(live, username):  # noqa: F811
    token = issue_token(live.settings.secret_key, live.world.users[username].id, username, live.clock.now(), 3600)
    return httpx.Client(base_url=live.url, headers={"Authorization": f"Bearer {token}"})


def _hotline_case(live, text, grid="341122100001002", photo=True):  # noqa: F811
    """A hotline report with a photo, 受理'd: a 核实 task for the grid's inspector."""
    lon, lat = live.world.point(grid)
    body = {"category_code": "06010", "lon": lon, "lat": lat, "description": text, "source": "hotline",
            "address": "新安镇人民路"}
    ops = _api(live, "operator1")
    files = [("photos", ("p.jpg", _jpeg(), "image/jpeg"))] if photo else None
    r = ops.post("/api/v1/cases", data={"data": json.dumps(body)}, files=files)
    assert r.status_code == 201, r.text
    case = r.json()
    assert ops.post(f"/api/v1/cases/{case['id']}/actions/accept").status_code == 200
    return case


def test_task_cards_show_what_where_and_how_far_and_badges_follow_the_list(live, browser, tmp_path):  # noqa: F811
    first = _hotline_case(live, "人民路口垃圾桶满溢，垃圾散落一地")
    second = _hotline_case(live, "人民路绿化带内有建筑垃圾", grid="341122100001001")
    near_lon, near_lat = live.world.point("341122100001002")
    context = browser.new_context(viewport=PHONE, locale="zh-CN", permissions=["geolocation"],
                                  geolocation={"longitude": near_lon + 0.003, "latitude": near_lat})
    page = context.new_page()
    outside = offline_guard(page)
    live.login(page, "inspector01")
    page.goto(f"{live.url}/m/inspector")
    page.click("#tabs button[data-go=tasks]")
    card = page.locator(f"#tasks li[data-case='{first['number']}']")
    expect(card).to_contain_text("人民路口垃圾桶满溢，垃圾散落一地")  # the description
    expect(card).to_contain_text("核实任务")
    shown = page.locator("#tasks li.task-card").count()
    expect(page.locator("#verify-count")).to_have_text(str(shown))  # the badges count what the list shows
    expect(page.locator("#task-count")).to_have_text(str(shown))
    expect(page.locator("#check-count")).to_have_text("0")
    thumb = card.locator(".thumbs img")
    expect(thumb).to_have_count(1)
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumb.element_handle())
    expect(card.locator(".task-map .leaflet-container, .task-map.leaflet-container")).to_have_count(1)
    expect(card.locator(".task-map .map-legend")).to_contain_text("问题位置")
    expect(card.locator(".distance")).to_have_text(_metres(), timeout=10_000)  # about 300 m east
    nav = card.locator("a.nav")
    assert nav.get_attribute("href").startswith("https://uri.amap.com/marker?position=")
    assert card.locator("a.geo").get_attribute("href").startswith("geo:")
    screenshot(page, "inspector-task-cards")
    thumb.click()  # tap to enlarge
    expect(page.locator("#photo-dialog img")).to_be_visible()
    assert page.locator("#photo-dialog img").get_attribute("src").startswith("/api/v1/photos/")
    page.locator("#photo-dialog button").click()
    expect(page.locator("#photo-dialog")).to_be_hidden()
    # Answer one: it leaves the list and the badges drop with it, at once and after the server answered.
    path = tmp_path / "site.jpg"
    path.write_bytes(_jpeg((30, 160, 60)))
    card.locator("input[name=photos]").set_input_files(str(path))
    card.locator("button[data-action=verify_ok]").click()
    expect(page.locator(f"#tasks li[data-case='{first['number']}']")).to_have_count(0)
    expect(page.locator("#verify-count")).to_have_text(str(shown - 1))
    # The card leaves before the answer is stored, so "0 queued" alone may be read before it; wait for the server's yes.
    expect(page.locator("#flash")).to_have_text("任务已回复", timeout=20_000)
    expect(page.locator("#queued")).to_have_text("0", timeout=20_000)
    expect(page.locator("#task-count")).to_have_text(str(page.locator("#tasks li.task-card").count()))
    assert second["number"] in page.inner_text("#tasks") or shown == 1
    events = _api(live, "lead1").get(f"/api/v1/cases/{first['id']}/events").json()
    assert [e["action"] for e in events if e["action"] == "verify_ok"] == ["verify_ok"]
    assert outside == []  # nothing from another host: the links only hand the place to the phone's map app
    context.close()


def _metres():
    import re

    return re.compile(r"^距您 \d+ 米$")


def test_department_case_shows_distance_navigation_and_a_legend(live, browser):  # noqa: F811
    case = _hotline_case(live, "人民路井盖缺失")
    for user, action, extra in [("inspector01", "verify_ok", None), ("lead1", "file", None),
                                ("dispatcher1", "dispatch", {"department_code": "d01"})]:
        r = _api(live, user).post(f"/api/v1/cases/{case['id']}/actions/{action}", json=extra)
        assert r.status_code == 200, r.text
    lon, lat = live.world.point("341122100001002")
    context = browser.new_context(viewport=PHONE, locale="zh-CN", permissions=["geolocation"],
                                  geolocation={"longitude": lon, "latitude": lat + 0.01})
    page = context.new_page()
    outside = offline_guard(page)
    live.login(page, "d01")
    page.goto(f"{live.url}/m/department")
    page.locator(f"#cases li[data-case='{case['number']}']").click()
    expect(page.locator("#c-description")).to_have_text("人民路井盖缺失")
    expect(page.locator("#c-photos img")).to_have_count(1)
    expect(page.locator("#case-map .map-legend")).to_contain_text("案件位置")
    expect(page.locator("#c-distance")).to_have_text("距您 1.1 公里", timeout=10_000)
    assert page.locator("#c-geo").get_attribute("href").startswith("geo:")
    assert page.locator("#c-nav").get_attribute("href").startswith("https://uri.amap.com/")
    screenshot(page, "department-case-card")
    assert outside == []
    context.close()


def _map_pages(live):  # noqa: F811
    """(login or None, address, viewport) of every map page the test world can show."""
    case = _hotline_case(live, "案件页地图")
    _api(live, "operator1").post("/api/v1/cases", json={"category_code": "06010", "description": "待受理的上报",
                                                        "lon": live.world.point("341122100001003")[0],
                                                        "lat": live.world.point("341122100001003")[1],
                                                        "source": "hotline"})
    return [(None, "/public/cases", PHONE), (None, "/public/services", PHONE), (None, "/public/warnings", PHONE),
            (None, "/m/report", PHONE), ("lead1", f"/console/cases/{case['id']}", LAPTOP),
            ("operator1", "/console/intake", LAPTOP), ("operator1", "/console/hotline", LAPTOP),
            ("leader1", "/screen", {"width": 1920, "height": 1080}), ("operator1", "/console/sensors", LAPTOP),
            ("operator1", "/console/fleet", LAPTOP), ("admin", "/console/admin/grids", LAPTOP),
            ("inspector01", "/m/inspector", PHONE)]


def test_every_map_has_a_legend_in_chinese_and_in_english(live, browser):  # noqa: F811
    pages = _map_pages(live)
    for lang in ("zh-CN", "en"):
        for user, path, viewport in pages:
            context = browser.new_context(viewport=viewport, locale=lang)
            page = context.new_page()
            errors = []
            page.on("pageerror", lambda e: errors.append(str(e)))  # noqa: B023
            if user:
                live.login(page, user)
            page.goto(f"{live.url}{path}{'?lang=en' if lang == 'en' else ''}")
            legend = page.locator(".leaflet-container .map-legend").first
            expect(legend).to_be_visible()
            if "folded" in (legend.get_attribute("class") or ""):  # a long legend on a phone opens on a tap
                legend.locator(".map-legend-title").click()
                expect(legend.locator(".map-legend-row").first).to_be_visible()
            text = legend.inner_text()
            if lang == "en":
                assert text.startswith("Legend"), (path, text)
            else:
                assert text.startswith("图例") and len(text.splitlines()) >= 2, (path, text)
                assert not any(ch.isascii() and ch.isalpha() for ch in text), (path, text)  # no English codes
            assert errors == [], (path, errors)
            if lang == "zh-CN":
                screenshot(page, "legend" + path.replace("/", "-").rstrip("-0123456789"))
            context.close()


@pytest.mark.parametrize("user", ["admin", "lead1", "operator1", "d01"])
def test_the_staff_header_is_one_line_at_1366(live, browser, user):  # noqa: F811
    context = browser.new_context(viewport=LAPTOP, locale="zh-CN")
    page = context.new_page()
    live.login(page, user)
    page.goto(f"{live.url}/console")
    bar = page.locator("header.topbar")
    assert bar.bounding_box()["height"] <= 48, bar.bounding_box()
    tops = page.evaluate("""[...document.querySelectorAll('header.topbar > *, header.topbar .menu > *')]
        .filter(e => e.offsetParent !== null).map(e => Math.round(e.getBoundingClientRect().top))""")
    assert max(tops) - min(tops) <= 12, tops  # every entry on one line
    group = page.locator(".menu-group").first
    if group.count():
        group.locator("summary").click()
        first = group.locator(".menu-drop a").first
        expect(first).to_be_visible()
        page.mouse.click(900, 500)  # a click elsewhere closes it
        expect(first).to_be_hidden()
    if user == "admin":
        screenshot(page, "header-1366-admin")
        page.goto(f"{live.url}/console?lang=en")
        assert page.locator("header.topbar").bounding_box()["height"] <= 48
        screenshot(page, "header-1366-admin-en")
    context.close()


def test_the_staff_header_on_a_phone_and_a_wide_screen(live, browser):  # noqa: F811
    for viewport in (PHONE, {"width": 1920, "height": 1080}):
        context = browser.new_context(viewport=viewport, locale="zh-CN")
        page = context.new_page()
        live.login(page, "admin")
        page.goto(f"{live.url}/console/cases")
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]  # no sideways scrolling
        expect(page.locator(".menu-group.current summary")).to_have_text("案件办理")  # the current area is marked
        group = page.locator(".menu-group").last
        group.locator("summary").click()
        link = group.locator(".menu-drop a").last
        expect(link).to_be_visible()
        box = link.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"] + 1, box
        screenshot(page, f"header-{viewport['width']}")
        context.close()
