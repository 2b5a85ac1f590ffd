"""Each role's day through the pages (clicks and forms, no API): a hotline call is saved and 受理'd, 核实'd on the
inspector's phone, 立案'd, 派遣'd, 处置'd on the department's phone, 核查'd, 结案'd with the 回访 — and every page
on the way reads as plain Chinese with no console error (tests/browser/plain.py). The citizen then follows the
report on the public pages, and the leader opens the big screen and the assessment."""

from __future__ import annotations

import io

from playwright.sync_api import expect
from PIL import Image
from sqlalchemy import select

from cityloop.state import app_state
from cityloop.cases.models import Case
from cityloop.org.models import User
from tests.browser import plain
from tests.browser.test_console_loop import _act
from tests.live import LAPTOP, PHONE, browser, live, offline_guard, screenshot  # noqa: F401


def _photo(name: str) -> dict:
    buf = io.BytesIO()
    Image.new("RGB", (320, 240), (40, 160, 60)).save(buf, "JPEG")
    return {"name": name, "mimeType": "image/jpeg", "buffer": buf.getvalue()}


def _open(browser, live, username: str | None, path: str, viewport=LAPTOP, **context):  # noqa: F811
    ctx = browser.new_context(viewport=viewport, locale="zh-CN", **context)
    page = ctx.new_page()
    plain.watch(page)
    page.outside = offline_guard(page)
    if username:
        live.login(page, username)
    page.goto(f"{live.url}{path}")
    return ctx, page


def _case(live) -> Case:  # noqa: F811
    with app_state(live.app).session_factory() as session:
        return session.scalars(select(Case).order_by(Case.id.desc())).first()


def _name_people(live) -> None:  # noqa: F811
    """The small test world calls its users by their logins (d01 …); people on a real day have names."""
    names = {"operator1": "赵受理", "lead1": "钱值班", "dispatcher1": "孙派遣", "leader1": "李局长",
             "inspector01": "周监督", "inspector02": "吴监督", "d01": "郑科员", "d02": "王科员", "d03": "冯科员",
             "t100": "陈干事", "admin": "管理员"}
    with app_state(live.app).session_factory() as session:
        for user in session.scalars(select(User)):
            user.display_name = names.get(user.username, user.display_name)
        session.commit()


def _answer_on_site(page, item, live, action: str, photo: str, stage: str) -> None:  # noqa: F811
    """The inspector answers a task card with a photo; the outbox sends it and the case reaches `stage`."""
    item.locator("input[name=photos]").set_input_files(_photo(photo))
    item.locator(f"button[data-action={action}]").click()
    expect(page.locator("#flash")).to_have_text("任务已回复", timeout=20_000)  # the server took it ("0 queued" may come first)
    expect(page.locator("#queued")).to_have_text("0", timeout=20_000)
    for _ in range(100):
        if _stage(live) == stage:
            break
        page.wait_for_timeout(100)
    assert _stage(live) == stage


def _stage(live) -> str:  # noqa: F811
    return _case(live).stage


def test_a_hotline_call_through_every_role(live, browser):  # noqa: F811
    codes = set(live.world.departments)
    _name_people(live)
    lon, lat = live.world.point("341122100001002")

    # 受理员: the hotline form saves the call and 受理s it in one step.
    ctx, page = _open(browser, live, "operator1", "/console/hotline")
    plain.check(page, codes, where="热线受理")
    page.fill("input[name=reporter_name]", "李先生")
    page.fill("input[name=reporter_phone]", "13912345678")
    page.fill("input[name=address]", "北门路口")
    page.fill("input[name=lon]", str(lon))
    page.fill("input[name=lat]", str(lat))
    page.wait_for_selector("select[name=category_code] option[value='06010']", state="attached")
    page.select_option("select[name=category_code]", "06010")
    page.fill("textarea[name=description]", "市民来电：路口垃圾堆积")
    page.click("#save-accept")
    expect(page.locator("#msg")).to_contain_text("受理")
    plain.check(page, codes, where="热线受理（已保存）")
    case = _case(live)
    assert (case.source, case.reporter_name, case.stage) == ("hotline", "李先生", "verifying")
    page.goto(f"{live.url}/console/cases/{case.id}")
    plain.check(page, codes, where="案件页（受理员）")
    ctx.close()

    # 监督员: the 核实 task on the phone, answered with a photo.
    ctx, page = _open(browser, live, "inspector01", "/m/inspector", viewport=PHONE)
    page.click("#tabs button[data-go=tasks]")
    item = page.locator(f"#tasks li[data-case='{case.number}']")
    item.wait_for()
    plain.check(page, codes, where="城管通 核实任务")
    _answer_on_site(page, item, live, "verify_ok", "verify.jpg", "accepted")
    plain.check(page, codes, where="城管通 核实后")
    ctx.close()

    # 值班长 立案, 派遣员 派遣 on the case page.
    for username, action, fill, after in [("lead1", "file", {"condition_code": "01"}, "待派遣"),
                                           ("dispatcher1", "dispatch", {"department_code": "d01"}, "处置中")]:
        ctx, page = _open(browser, live, username, f"/console/cases/{case.id}")
        plain.check(page, codes, where=f"案件页（{username}）")
        _act(page, action, fill)
        assert after in page.inner_text(".case-head")
        plain.check(page, codes, where=f"案件页（{username}，{action} 之后）")
        page.goto(f"{live.url}/console/inbox")
        plain.check(page, codes, where=f"待办（{username}）")
        ctx.close()

    # The department's clerk: 处置 on the department app with an after photo.
    ctx, page = _open(browser, live, "d01", "/m/department", viewport=PHONE)
    page.locator(f"#cases li[data-case='{case.number}']").click()
    expect(page.locator("#c-number")).to_have_text(case.number)
    plain.check(page, codes, where="部门 App 案件")
    page.click("#c-actions button[data-open=handle]")
    page.fill("#handle-form textarea[name=result]", "已清运完毕")
    page.set_input_files("#handle-form input[name=before]", _photo("before.jpg"))
    page.set_input_files("#handle-form input[name=after]", _photo("after.jpg"))
    page.click("#handle-form button[type=submit]")
    expect(page.locator("#flash")).to_contain_text("已发送")
    plain.check(page, codes, where="部门 App 处置后")
    assert _stage(live) == "handled"
    ctx.close()

    # 监督员 核查 on the phone.
    ctx, page = _open(browser, live, "inspector01", "/m/inspector", viewport=PHONE)
    page.click("#tabs button[data-go=tasks]")
    item = page.locator(f"#tasks li[data-case='{case.number}']")
    item.wait_for()
    assert "核查" in item.inner_text()
    plain.check(page, codes, where="城管通 核查任务")
    _answer_on_site(page, item, live, "check_ok", "check.jpg", "checked")
    ctx.close()

    # 值班长 结案 with the 回访 (return call) and the caller's satisfaction.
    ctx, page = _open(browser, live, "lead1", f"/console/cases/{case.id}")
    _act(page, "close", {"callback": "已电话回访，市民确认已清运", "rating": "满意"})
    assert "已结案" in page.inner_text(".case-head")
    history = plain.check(page, codes, where="案件页（结案后）")
    for name in ("受理", "核实", "立案", "派遣", "处置", "核查", "结案", "满意"):
        assert name in history, name
    screenshot(page, "role-day-closed")
    assert page.outside == []
    ctx.close()

    # The leader: the big screen and the assessment.
    ctx, page = _open(browser, live, "leader1", "/screen", viewport={"width": 1920, "height": 1080})
    expect(page.locator("#figures b[data-k=closed]")).not_to_have_text("–")
    plain.check(page, codes, where="大屏")
    page.goto(f"{live.url}/console/assessment")
    plain.check(page, codes, where="考核")
    ctx.close()

    # The citizen: the public pages, and the case's status by its public id.
    ctx, page = _open(browser, live, None, "/public")
    for path in ("/public", "/public/cases", "/public/rankings", "/public/warnings", "/m/report"):
        page.goto(f"{live.url}{path}")
        plain.check(page, codes, where=path)
    ctx.close()
