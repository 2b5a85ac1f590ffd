"""12345 工单 exchange end to end: a signed webhook becomes a case with its number and deadline, the operators
work it, and a real local HTTP server standing in for the 12345 platform receives 签收, progress, 办结 and 回访 in
order, exactly once — also across an outage and a resend. Bad input is a clear error or a parked 工单."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select

from cityloop.state import app_state
from cityloop.cases.models import Case, CaseEvent
from cityloop.workorders import tasks
from cityloop.workorders.models import WorkOrder, WorkOrderMessage
from cityloop.workorders.sender import http_post, send_due
from tests.conftest import SHANGHAI
from tests.integration.workorders_kit import SECRET, FakePlatform, order, places, post


@pytest.fixture
def platform():
    with FakePlatform() as fake:
        yield fake


@pytest.fixture
def settings(settings, platform):
    settings.workorder_secret = SecretStr(SECRET)
    settings.workorder_platform_url = platform.url
    return settings


@pytest.fixture
def county(session, world):
    places(session)
    return world


def _send(session, settings, at: datetime) -> int:
    session.expire_all()
    return send_due(session, settings, at, http_post(settings))


def _count(session, model) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model))


def _act(api, login, case_id, action, user, body=None):
    r = api.post(f"/api/v1/cases/{case_id}/actions/{action}", json=body or {}, headers=login(user))
    assert r.status_code == 200, (action, r.text)
    return r.json()


def _to_checked(api, login, case_id):
    for action, user, body in [("accept", "operator1", {}), ("file", "lead1", {}), ("dispatch", "dispatcher1", {}),
                               ("handle", "d01", {"result": "已清理垃圾"}), ("check_ok", "inspector01", {})]:
        _act(api, login, case_id, action, user, body)


def test_a_work_order_becomes_a_case_and_everything_goes_back_once_in_order(api, app, login, county, session,
                                                                             clock, platform, settings):
    r = post(api, order(), clock.now().timestamp(), delivery="d-1")
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["status"] == "case" and out["case_number"].startswith("LA") and not out["duplicate"]
    case = session.scalar(select(Case).where(Case.number == out["case_number"]))
    assert (case.source, case.stage, case.reporter_name, case.reporter_phone) == ("hotline", "reported", "王女士",
                                                                                 "13900001111")
    assert case.required_due_at == datetime(2026, 11, 25, 18, 0, tzinfo=SHANGHAI)
    assert case.grid_code == "341122100001001" and case.address == "北门小区"
    report = session.scalar(select(CaseEvent.payload).where(CaseEvent.case_id == case.id, CaseEvent.seq == 1))
    assert report["workorder"] == "GD202611230001"  # the external number on the case's record
    wo = api.get("/api/v1/workorders?status=case", headers=login("operator1")).json()[0]
    assert (wo["external_no"], wo["case_number"]) == ("GD202611230001", case.number)

    _to_checked(api, login, case.id)
    handle_due = session.scalar(select(Case.node_due_at).where(Case.id == case.id))
    assert handle_due is not None
    _act(api, login, case.id, "close", "lead1", {"callback": "已回访，王女士确认已清理", "rating": "满意"})
    tasks._send_once(app_state(app))  # the server task's round: everything due goes out
    assert platform.kinds() == ["accept", "progress", "progress", "progress", "progress", "result", "callback"]
    stages = [m["stage"] for m in platform.received]
    assert stages == ["accepted", "filed", "dispatched", "handled", "checked", "closed", "closed"]
    result, callback = platform.received[-2:]
    assert result["result"] == "已清理垃圾" and result["case_number"] == case.number
    assert (callback["satisfaction"], callback["callback_result"]) == ("满意", "已回访，王女士确认已清理")
    assert all(m["workorder_no"] == "GD202611230001" for m in platform.received)
    # another round (or a restarted sender) sends nothing again
    assert _send(session, settings, clock.now() + timedelta(hours=1)) == 0
    assert len(platform.received) == 7 and platform.resends == 0 and platform.bad_signatures == 0
    # the assessment's 满意率 counts the 回访
    report = api.get("/api/v1/assessment/department?period=2026-11", headers=login("leader1")).json()
    d01 = next(row for row in report["rows"] if row["object_id"] == county.departments["d01"].id)
    assert d01["counters"]["rated"] == 1 and d01["counters"]["satisfied"] == 1


def test_return_call_after_closing_goes_back_and_counts(api, login, county, session, clock, platform, settings):
    out = post(api, order("GD-CB-1"), clock.now().timestamp()).json()
    case_id = session.scalar(select(Case.id).where(Case.number == out["case_number"]))
    wo_id = session.scalar(select(WorkOrder.id).where(WorkOrder.external_no == "GD-CB-1"))
    page = api.get(f"/console/cases/{case_id}", headers=login("operator1")).text
    assert "12345 工单编号" in page and "GD-CB-1" in page
    early = api.post(f"/api/v1/workorders/{wo_id}/callback", json={"rating": "满意"}, headers=login("operator1"))
    assert early.status_code == 409 and early.json()["code"] == "workorder-not-closed"
    _to_checked(api, login, case_id)
    _act(api, login, case_id, "close", "lead1")
    bad = api.post(f"/api/v1/workorders/{wo_id}/callback", json={"rating": "很好"}, headers=login("operator1"))
    assert bad.status_code == 422
    r = api.post(f"/api/v1/workorders/{wo_id}/callback", json={"result": "回访：已处理，基本满意", "rating": "基本满意"},
                 headers=login("operator1"))
    assert r.status_code == 200, r.text
    again = api.post(f"/api/v1/workorders/{wo_id}/callback", json={"rating": "不满意"}, headers=login("operator1"))
    assert again.status_code == 409
    rate = session.scalar(select(CaseEvent).where(CaseEvent.case_id == case_id, CaseEvent.action == "rate"))
    assert rate.payload["rating"] == "基本满意" and rate.actor_name == "operator1"
    assert _send(session, settings, clock.now()) == 7
    assert platform.received[-1]["kind"] == "callback"
    assert (platform.received[-1]["satisfaction"], platform.received[-1]["callback_result"]) == (
        "基本满意", "回访：已处理，基本满意")
    report = api.get("/api/v1/assessment/department?period=2026-11", headers=login("leader1")).json()
    d01 = next(row for row in report["rows"] if row["object_id"] == county.departments["d01"].id)
    assert d01["counters"]["rated"] == 1 and d01["counters"]["satisfied"] == 1


def test_replayed_webhooks_add_nothing(api, county, session, clock):
    now = clock.now().timestamp()
    first = post(api, order("GD-R-1"), now, delivery="dv-1")
    again = post(api, order("GD-R-1"), now, delivery="dv-1")
    other_delivery = post(api, order("GD-R-1"), now + 5, delivery="dv-2")
    same_delivery = post(api, order("GD-R-2"), now, delivery="dv-1")
    assert first.status_code == 201
    for r in (again, other_delivery, same_delivery):
        assert r.status_code == 200 and r.json()["duplicate"] and r.json()["case_number"] == first.json()["case_number"]
    assert _count(session, WorkOrder) == 1 and _count(session, Case) == 1


@pytest.mark.parametrize("tamper, code", [
    ("signature", "bad-signature"), ("stale", "stale-timestamp"), ("future", "stale-timestamp"),
    ("missing", "signature-missing"), ("secret", "bad-signature")])
def test_bad_signatures_and_stale_timestamps_are_refused(api, county, session, clock, tamper, code):
    now = clock.now().timestamp()
    if tamper == "missing":
        r = api.post("/api/v1/workorders/12345", json=order())
    elif tamper == "signature":
        body = b'{"\xe5\xb7\xa5\xe5\x8d\x95\xe7\xbc\x96\xe5\x8f\xb7": "X"}'
        r = api.post("/api/v1/workorders/12345", content=body, headers={
            "X-12345-Timestamp": str(int(now)), "X-12345-Signature": "sha256=" + "0" * 64})
    else:
        at = {"stale": now - 3600, "future": now + 3600}.get(tamper, now)
        r = post(api, order(), at, secret="someone-else" if tamper == "secret" else SECRET)
    assert r.status_code == 401 and r.json()["code"] == code
    assert _count(session, WorkOrder) == 0 and _count(session, Case) == 0


def test_unconfigured_secret_and_malformed_bodies(api, app, county, session, clock):
    now = clock.now().timestamp()
    for raw, code in [(b"not json", "bad-json"), (b"[1, 2]", "bad-json"), (b"[" * 100_000, "bad-json"),
                      (b"x" * 300_000, "body-too-large"),
                      ('{"诉求内容": "没有编号"}'.encode(), "workorder-number-required"),
                      ('{"工单编号": "GD-X", "办理时限": "下周一"}'.encode(), "workorder-bad-deadline")]:
        r = post(api, {}, now, raw=raw)
        assert r.status_code == 422 and r.json()["code"] == code, (raw, r.text)
    app_state(app).settings.workorder_secret = None
    r = post(api, order(), now)
    assert r.status_code == 403 and r.json()["code"] == "workorder-not-configured"
    assert _count(session, WorkOrder) == 0


@pytest.mark.parametrize("over, reason", [
    ({"诉求地址": None}, "no-address"), ({"诉求地址": "火星基地"}, "address-not-found"),
    ({"诉求地址": "城东农贸市场"}, "outside-district"), ({"诉求分类": "教育/学校收费"}, "unknown-category"),
    ({"诉求分类": None}, "no-category")])
def test_unplaceable_or_uncategorised_orders_are_parked_not_lost(api, login, county, session, clock, over, reason):
    r = post(api, order("GD-P-1", **over), clock.now().timestamp())
    assert r.status_code == 201 and r.json()["status"] == "parked" and r.json()["reason"] == reason
    assert r.json()["reason_text"] and r.json()["case_number"] is None
    assert _count(session, Case) == 0
    queue = api.get("/api/v1/workorders?status=parked", headers=login("operator1")).json()
    assert [(o["external_no"], o["reason"]) for o in queue] == [("GD-P-1", reason)]
    assert queue[0]["fields"]["description"] == "北门小区门口垃圾堆积多日无人清理"


def test_operator_fixes_a_parked_order_and_accepts_it(api, login, county, session, clock, platform, settings):
    post(api, order("GD-F-1", 诉求分类="环境卫生", 诉求地址=None), clock.now().timestamp())
    wo_id = session.scalar(select(WorkOrder.id).where(WorkOrder.external_no == "GD-F-1"))
    url = f"/api/v1/workorders/{wo_id}/accept"
    assert api.post(url, json={"category_code": "06010"}, headers=login("lead1")).status_code == 403
    for body, code in [({"category_code": "99999", "address": "北门小区"}, "workorder-unknown-category"),
                       ({"category_code": "06010"}, "workorder-no-address"),
                       ({"category_code": "06010", "address": "火星基地"}, "workorder-address-not-found"),
                       ({"category_code": "06010", "lon": 100.0, "lat": 20.0}, "outside-district"),
                       ({"category_code": "06010", "lon": 118.43}, "lon-lat-pair")]:
        r = api.post(url, json=body, headers=login("operator1"))
        assert r.status_code == 422 and r.json()["code"] == code, (body, r.text)
    assert _count(session, Case) == 0
    r = api.post(url, json={"category_code": "06010", "address": "北门小区"}, headers=login("operator1"))
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["status"] == "case" and out["decided_by"] == "operator1" and out["fields"]["address"] == "北门小区"
    case = session.scalar(select(Case).where(Case.number == out["case_number"]))
    assert case.stage == "accepted" and case.category_code == "06010"
    assert api.post(url, json={"category_code": "06010"}, headers=login("operator1")).status_code == 409
    assert _send(session, settings, clock.now()) == 1 and platform.kinds() == ["accept"]


def test_return_orders_outside_scope(api, login, county, session, clock, platform, settings):
    now = clock.now().timestamp()
    post(api, order("GD-T-1", 诉求分类="教育/学校收费"), now)
    case_no = post(api, order("GD-T-2"), now).json()["case_number"]
    post(api, order("GD-T-3"), now)
    ids = dict(session.execute(select(WorkOrder.external_no, WorkOrder.id)).all())
    empty = api.post(f"/api/v1/workorders/{ids['GD-T-1']}/return", json={"reason": "  "}, headers=login("operator1"))
    assert empty.status_code == 422
    for number in ("GD-T-1", "GD-T-2"):
        r = api.post(f"/api/v1/workorders/{ids[number]}/return", json={"reason": "不属于城管职责，请转教育局"},
                     headers=login("operator1"))
        assert r.status_code == 200 and r.json()["status"] == "returned", r.text
    assert session.scalar(select(Case.stage).where(Case.number == case_no)) == "rejected"
    again = api.post(f"/api/v1/workorders/{ids['GD-T-1']}/return", json={"reason": "再退"}, headers=login("operator1"))
    assert again.status_code == 409
    # once accepted (受理) the case can no longer be returned
    t3 = api.get(f"/api/v1/workorders/{ids['GD-T-3']}", headers=login("operator1")).json()
    _act(api, login, t3["case_id"], "accept", "operator1")
    late = api.post(f"/api/v1/workorders/{ids['GD-T-3']}/return", json={"reason": "x"}, headers=login("operator1"))
    assert late.status_code == 409 and late.json()["code"] == "workorder-not-returnable"
    assert _send(session, settings, clock.now()) == 3
    assert [(m["workorder_no"], m["kind"]) for m in platform.received] == [
        ("GD-T-1", "return"), ("GD-T-2", "return"), ("GD-T-3", "accept")]
    assert all(m["reason"] == "不属于城管职责，请转教育局" for m in platform.received[:2])


def test_platform_down_retries_with_backoff_and_loses_nothing(api, login, county, session, clock, platform, settings):
    case_no = post(api, order("GD-D-1"), clock.now().timestamp()).json()["case_number"]
    case_id = session.scalar(select(Case.id).where(Case.number == case_no))
    _act(api, login, case_id, "accept", "operator1")
    _act(api, login, case_id, "file", "lead1")
    platform.down = True
    t0 = clock.now()
    assert _send(session, settings, t0) == 0
    first = session.scalars(select(WorkOrderMessage).order_by(WorkOrderMessage.id)).all()
    assert [(m.attempts, m.sent_at) for m in first] == [(1, None), (0, None)]  # the later one waits its turn
    assert "503" in first[0].last_error and first[0].next_attempt_at == t0 + timedelta(seconds=10)
    assert _send(session, settings, t0 + timedelta(seconds=5)) == 0 and first[0].attempts == 1  # backing off
    assert _send(session, settings, t0 + timedelta(seconds=10)) == 0 and first[0].attempts == 2
    assert first[0].next_attempt_at == t0 + timedelta(seconds=30)  # doubled
    platform.down = False
    # a message posted whose acknowledgement was lost (the sender died before marking it) is resent once, and the
    # platform recognises it by its Idempotency-Key
    assert http_post(settings)(first[0]) is None
    assert _send(session, settings, t0 + timedelta(minutes=1)) == 2
    assert platform.kinds() == ["accept", "progress"] and platform.resends == 1
    assert _send(session, settings, t0 + timedelta(hours=2)) == 0 and len(platform.received) == 2


def test_unreachable_platform_is_recorded_and_retried(api, login, county, session, clock, settings):
    settings.workorder_platform_url = "http://127.0.0.1:9/nothing-listens"
    case_no = post(api, order("GD-U-1"), clock.now().timestamp()).json()["case_number"]
    _act(api, login, session.scalar(select(Case.id).where(Case.number == case_no)), "accept", "operator1")
    assert _send(session, settings, clock.now()) == 0
    msg = session.scalar(select(WorkOrderMessage))
    assert msg.attempts == 1 and msg.sent_at is None and "Connect" in msg.last_error
    msgs = api.get(f"/api/v1/workorders/{msg.workorder_id}/messages", headers=login("operator1")).json()
    assert msgs[0]["kind"] == "accept" and msgs[0]["attempts"] == 1


def test_console_page_lists_the_queue(api, login, county, clock):
    post(api, order("GD-W-1", 诉求地址=None), clock.now().timestamp())
    page = api.get("/console/workorders", headers=login("operator1"))
    assert page.status_code == 200 and "12345 工单" in page.text and "/static/workorders/workorders.js" in page.text
    assert api.get("/static/workorders/workorders.js").status_code == 200
    assert api.get("/console/workorders", headers=login("d01")).status_code == 403
    assert api.get("/api/v1/workorders", headers=login("d01")).status_code == 403
    assert "/console/workorders" in api.get("/console", headers=login("operator1")).text


def test_field_mapping_file_reads_another_platforms_names(api, app, county, session, clock, tmp_path):
    mapping = tmp_path / "12345.toml"
    mapping.write_text('[fields]\nGDBH = "number"\nSQNR = "description"\nSQDZ = "address"\nBLSX = "deadline"\n'
                       'SQFL = "category"\n\n[categories]\n"0301" = "09006"\n', encoding="utf-8")
    app_state(app).settings.workorder_mapping_file = mapping
    doc = {"GDBH": "ZW-0001", "SQNR": "北门小区门口占道经营", "SQDZ": "北门小区", "BLSX": "2026-11-24T12:00:00+08:00",
           "SQFL": "0301"}
    r = post(api, doc, clock.now().timestamp())
    assert r.status_code == 201 and r.json()["status"] == "case", r.text
    case = session.scalar(select(Case).where(Case.number == r.json()["case_number"]))
    assert (case.category_code, case.description) == ("09006", "北门小区门口占道经营")
    assert case.required_due_at == datetime(2026, 11, 24, 12, 0, tzinfo=SHANGHAI)
    mapping.write_text('[fields]\nGDBH = "nonsense"\n', encoding="utf-8")
    broken = post(api, {**doc, "GDBH": "ZW-0002"}, clock.now().timestamp() + 1)
    assert broken.status_code == 503 and broken.json()["code"] == "workorder-mapping-broken"
    assert _count(session, WorkOrder) == 1


def test_one_failing_order_holds_back_no_other(api, login, county, session, clock, platform, settings):
    now = clock.now().timestamp()
    for number in ("GD-H-1", "GD-H-2"):
        case_no = post(api, order(number), now).json()["case_number"]
        case_id = session.scalar(select(Case.id).where(Case.number == case_no))
        _act(api, login, case_id, "accept", "operator1")
        _act(api, login, case_id, "file", "lead1")
    platform.refuse = {"GD-H-1"}
    assert _send(session, settings, clock.now()) == 2
    assert [(m["workorder_no"], m["kind"]) for m in platform.received] == [("GD-H-2", "accept"), ("GD-H-2", "progress")]
    waiting = session.scalars(select(WorkOrderMessage).where(WorkOrderMessage.sent_at.is_(None))
                              .order_by(WorkOrderMessage.id)).all()
    assert [(m.kind, m.attempts) for m in waiting] == [("accept", 1), ("progress", 0)]
    assert "500" in waiting[0].last_error
    platform.refuse = set()
    assert _send(session, settings, clock.now() + timedelta(minutes=5)) == 2
    assert [m["workorder_no"] for m in platform.received[2:]] == ["GD-H-1", "GD-H-1"]
    assert platform.kinds()[2:] == ["accept", "progress"]
