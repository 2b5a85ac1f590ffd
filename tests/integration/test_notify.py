"""Notifications end to end: case events → outbox → a real local HTTP gateway, retries, parking, quiet hours."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timedelta
import pytest
from sqlalchemy import select

from cityloop.notify.models import Delivery, OutboxMessage, Subscription, Template
from cityloop.notify.worker import Worker
from tests.conftest import free_port
from tests.integration.notify_kit import FakeGateway


@pytest.fixture
def gateway():
    with FakeGateway() as gw:
        yield gw


@pytest.fixture
def notify_settings(settings, gateway):
    return settings.model_copy(update={"notify_sms_url": f"{gateway.url}/sms", "notify_backoff_seconds": 0,
                                       "notify_sms_templates": {"dispatched": "SMS_0001"}})


@pytest.fixture
def d01_staff(session, world, clock):
    """Two users of department d01 with phones, subscribed by role to SMS; d02's user is not subscribed."""
    from cityloop.org.models import User, UserRole

    world.users["d01"].phone = "13800000001"
    second = User(username="d01b", display_name="d01b", password_hash=world.users["d01"].password_hash,
                  department_id=world.departments["d01"].id, phone="13800000002", created_at=clock.now(),
                  roles=[UserRole(role="department")])
    session.add(second)
    world.users["d02"].phone = "13900000009"
    session.commit()
    world.users["d01b"] = second
    return second


def _subscribe(api, login, **body):
    r = api.post("/api/v1/notify/subscriptions", json=body, headers=login("admin"))
    assert r.status_code == 201, r.text
    return r.json()


def _dispatched_case(api, login, world):
    lon, lat = world.point("341122100001001")
    case = api.post("/api/v1/cases", json={"category_code": "06010", "lon": lon, "lat": lat,
                                           "description": "路边有暴露垃圾"}, headers=login("inspector01")).json()
    for action, user in [("accept", "operator1"), ("file", "lead1"), ("dispatch", "dispatcher1")]:
        r = api.post(f"/api/v1/cases/{case['id']}/actions/{action}", headers=login(user))
        assert r.status_code == 200, r.text
    return r.json()


def _worker(session_factory, settings, clock):
    return Worker(session_factory, settings, clock=clock.now, threads=4)


def test_dispatch_tells_each_subscribed_user_once(api, login, world, d01_staff, gateway, notify_settings,
                                                  session_factory, clock, session):
    _subscribe(api, login, role="department", channel="sms", event_kind="dispatched")
    _subscribe(api, login, department_code="d01", channel="wecom", address=f"{gateway.url}/wecom?key=abc")
    case = _dispatched_case(api, login, world)
    worker = _worker(session_factory, notify_settings, clock)
    try:
        assert worker.run_once() == 3
        assert worker.run_once() == 0
    finally:
        worker.close()
    sms = gateway.posts("/sms")
    assert sorted(m["phone"] for m in sms) == ["13800000001", "13800000002"]
    assert all(m["template_code"] == "SMS_0001" and m["sign_name"] == "数字城管" for m in sms)
    assert sms[0]["params"]["case_number"] == case["number"] and sms[0]["params"]["department"] == "县城管执法局"
    assert case["number"] in sms[0]["text"]
    robot = gateway.posts("/wecom")
    assert len(robot) == 1 and robot[0]["msgtype"] == "markdown" and case["number"] in robot[0]["markdown"]["content"]
    # The in-app inbox: the badge's count, the list, mark read.
    unread = api.get("/api/v1/notifications/unread", headers=login("d01")).json()
    assert unread["unread"] == 1
    page = api.get("/api/v1/notifications", headers=login("d01")).json()
    assert page["items"][0]["event_kind"] == "dispatched" and page["items"][0]["link"] == f"/console/cases/{case['id']}"
    assert api.get("/api/v1/notifications/unread", headers=login("d02")).json()["unread"] == 0
    r = api.post("/api/v1/notifications/read", json={"all": True}, headers=login("d01"))
    assert r.json()["unread"] == 0
    # The admins' delivery log shows every attempt.
    log = api.get("/api/v1/notify/deliveries", headers=login("admin")).json()
    assert sorted(d["status"] for d in log) == ["sent"] * 3
    assert api.get("/api/v1/notify/deliveries", headers=login("d01")).status_code == 403


def test_rework_supervise_and_request_decisions_reach_the_department(api, login, world, d01_staff, session):
    case = _dispatched_case(api, login, world)
    api.post(f"/api/v1/cases/{case['id']}/actions/supervise", json={"note": "请加快"}, headers=login("leader1"))
    kinds = [i["event_kind"] for i in api.get("/api/v1/notifications", headers=login("d01b")).json()["items"]]
    assert kinds == ["supervised", "dispatched"]
    for decision, note in [("deny", "不同意"), ("approve", None)]:
        r = api.post(f"/api/v1/cases/{case['id']}/actions/request_extension",
                     json={"note": "需要协调", "extension": "1d"}, headers=login("d01"))
        assert r.status_code == 200, r.text
        r = api.post(f"/api/v1/cases/{case['id']}/actions/{decision}", json={"note": note} if note else None,
                     headers=login("dispatcher1"))
        assert r.status_code == 200, r.text
    items = api.get("/api/v1/notifications", headers=login("d01")).json()["items"]
    assert [i["event_kind"] for i in items[:2]] == ["request_approved", "request_denied"]
    assert "延期" in items[0]["body"] and "不同意" in items[1]["body"]
    r = api.post(f"/api/v1/cases/{case['id']}/actions/handle", json={"result": "已清理"}, headers=login("d01"))
    assert r.status_code == 200, r.text
    r = api.post(f"/api/v1/cases/{case['id']}/actions/check_fail", json={"note": "未清理干净"},
                 headers=login("inspector01"))
    assert r.status_code == 200, r.text
    items = api.get("/api/v1/notifications", headers=login("d01b")).json()["items"]
    assert items[0]["event_kind"] == "rework" and "未清理干净" in items[0]["body"]


def test_gateway_failures_are_retried_then_delivered(api, login, world, d01_staff, gateway, notify_settings,
                                                     session_factory, clock, session):
    _subscribe(api, login, user_id=d01_staff.id, channel="sms")
    gateway.fail_first = 2
    _dispatched_case(api, login, world)
    worker = _worker(session_factory, notify_settings, clock)
    try:
        for _ in range(3):
            worker.run_once()
    finally:
        worker.close()
    assert [m["phone"] for m in gateway.delivered] == ["13800000002"]
    msg = session.scalar(select(OutboxMessage).where(OutboxMessage.channel == "sms"))
    session.refresh(msg)
    assert msg.status == "sent" and msg.attempts == 3
    log = [d.status for d in session.scalars(select(Delivery).where(Delivery.message_id == msg.id)
                                             .order_by(Delivery.id))]
    assert log == ["failed", "failed", "sent"]


def test_unreachable_gateway_parks_with_a_reason_and_retry_sends_it(api, login, world, d01_staff, gateway,
                                                                   notify_settings, session_factory, clock, session):
    _subscribe(api, login, user_id=d01_staff.id, channel="sms")
    _dispatched_case(api, login, world)
    dead = notify_settings.model_copy(update={"notify_sms_url": f"http://127.0.0.1:{free_port()}/sms",
                                              "notify_max_attempts": 3, "notify_timeout_seconds": 1})
    worker = _worker(session_factory, dead, clock)
    try:
        for _ in range(4):
            worker.run_once()
    finally:
        worker.close()
    parked = api.get("/api/v1/notify/outbox", params={"status": "parked"}, headers=login("admin")).json()
    assert len(parked) == 1 and parked[0]["attempts"] == 3 and "ConnectError" in parked[0]["last_error"]
    page = api.get("/console/notify", headers=login("admin"))
    assert page.status_code == 200 and "ConnectError" in page.text
    r = api.post(f"/api/v1/notify/outbox/{parked[0]['id']}/retry", headers=login("admin"))
    assert r.status_code == 200 and r.json()["status"] == "pending"
    worker = _worker(session_factory, notify_settings, clock)
    try:
        worker.run_once()
    finally:
        worker.close()
    assert [m["phone"] for m in gateway.delivered] == ["13800000002"]


@pytest.mark.parametrize("body, code", [
    ({"event_kind": "dispatched", "channel": "sms", "title": "派遣", "body": "案件${case_no}已派遣"},
     "template-variable"),
    ({"event_kind": "dispatched", "channel": "sms", "title": "派遣", "body": "费用 $ 5"}, "template-variable"),
    ({"event_kind": "nope", "channel": "sms", "title": "x", "body": "y"}, "template-variable"),
])
def test_unknown_template_variable_is_refused_and_nothing_saved(api, login, world, session, body, code):
    r = api.put("/api/v1/notify/templates", json=body, headers=login("admin"))
    assert r.status_code == 422 and r.json()["code"] == code, r.text
    assert session.scalars(select(Template)).all() == []


def test_a_saved_template_is_used(api, login, world, d01_staff, session):
    r = api.put("/api/v1/notify/templates", json={"event_kind": "dispatched", "channel": "inbox",
                                                  "title": "派单 ${case_number}", "body": "到${address}处置"},
                headers=login("admin"))
    assert r.status_code == 200, r.text
    case = _dispatched_case(api, login, world)
    item = api.get("/api/v1/notifications", headers=login("d01")).json()["items"][0]
    assert item["title"] == f"派单 {case['number']}"


def test_quiet_hours_hold_ordinary_messages_but_not_urgent_ones(api, login, world, d01_staff, gateway,
                                                                notify_settings, session_factory, clock, session):
    # 09:00 in Shanghai is inside this user's 08:00–10:00 quiet window.
    _subscribe(api, login, user_id=d01_staff.id, channel="sms", quiet_start="08:00", quiet_end="10:00")
    case = _dispatched_case(api, login, world)
    worker = _worker(session_factory, notify_settings, clock)
    try:
        worker.run_once()
        assert gateway.delivered == []
        api.post(f"/api/v1/cases/{case['id']}/actions/supervise", json={"note": "速办"}, headers=login("leader1"))
        worker.run_once()
        assert [m["params"]["note"] for m in gateway.delivered] == ["速办"]  # 督办 is urgent
        clock.advance(hours=1, minutes=1)
        worker.run_once()
        assert len(gateway.delivered) == 2
    finally:
        worker.close()


def test_near_due_and_overdue_are_told_once_per_node(api, login, world, d01_staff, session, clock, settings):
    from cityloop.cases.tasks import sweep
    from cityloop.notify.tasks import near_due_sweep

    case = _dispatched_case(api, login, world)
    assert near_due_sweep(session, settings, clock.now()) == 0
    due = datetime.fromisoformat(case["node_due_at"])
    clock.set(due - timedelta(minutes=20))  # 06010 is a 4 working-hour limit: over 80 % used
    assert near_due_sweep(session, settings, clock.now()) == 1
    assert near_due_sweep(session, settings, clock.now()) == 1  # again: the dedupe key makes it a no-op
    clock.set(due + timedelta(minutes=1))
    sweep(session, settings, clock.now())
    sweep(session, settings, clock.now())
    kinds = [i["event_kind"] for i in api.get("/api/v1/notifications", headers=login("d01")).json()["items"]]
    assert kinds == ["overdue", "near_due", "dispatched"], kinds
    assert case["number"]


def test_dingtalk_robot_is_signed(api, login, world, gateway, notify_settings, session_factory, clock):
    _subscribe(api, login, department_code="d01", channel="dingtalk", secret="SECabc",
               address=f"{gateway.url}/dingtalk?access_token=t")
    _dispatched_case(api, login, world)
    worker = _worker(session_factory, notify_settings, clock)
    try:
        worker.run_once()
    finally:
        worker.close()
    (path, query, body), = [r for r in gateway.requests if r[0] == "/dingtalk"]
    ts = query["timestamp"][0]
    expected = base64.b64encode(hmac.new(b"SECabc", f"{ts}\nSECabc".encode(), hashlib.sha256).digest()).decode()
    assert query["sign"][0] == expected and body["msgtype"] == "markdown"


def test_rate_limit_defers_and_never_drops(session, world, gateway, notify_settings, session_factory, clock):
    from cityloop.notify.service import Recipients, publish

    for i in range(3):
        publish(session, "supervised", {"case_number": f"N{i}"}, Recipients(addresses=["sms:13700000000"]),
                event_key=f"rate:{i}", now=clock.now())
    session.commit()
    limited = notify_settings.model_copy(update={"notify_rate_per_minute": 2})
    worker = _worker(session_factory, limited, clock)
    try:
        worker.run_once()
        assert len(gateway.delivered) == 2
        clock.advance(seconds=61)
        worker.rate.log.clear()  # a minute later (the window uses the process clock)
        worker.run_once()
        assert len(gateway.delivered) == 3
    finally:
        worker.close()


def test_bad_subscriptions_are_refused(api, login, world, session):
    for body in [{"channel": "sms"}, {"channel": "sms", "user_id": 1, "role": "department"},
                 {"channel": "wecom", "address": "not-a-url"}, {"channel": "sms", "role": "x", "quiet_start": "22:00"},
                 {"channel": "sms", "role": "x", "event_kind": "nope"}, {"channel": "email", "role": "x"},
                 {"channel": "sms", "role": "x", "quiet_start": "25:00", "quiet_end": "07:00"}]:
        r = api.post("/api/v1/notify/subscriptions", json=body, headers=login("admin"))
        assert r.status_code == 422, (body, r.text)
    assert session.scalars(select(Subscription)).all() == []


def test_cli_refuses_an_unknown_template_variable(settings, engine, monkeypatch):
    from typer.testing import CliRunner

    from cityloop.cli import _mount_optional, app
    from cityloop.config import get_settings

    monkeypatch.setenv("CITYLOOP_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("CITYLOOP_DEMO", "1")
    get_settings.cache_clear()  # an earlier test may have left another environment's settings (or error) cached
    _mount_optional()
    try:
        result = CliRunner().invoke(app, ["notify", "template", "dispatched", "sms", "--title", "派遣",
                                          "--body", "案件${case_no}"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2 and "case_no" in result.output and "case_number" in result.output


def test_pages_show_the_badge_the_inbox_and_the_admin_console(api, login, world, d01_staff):
    _dispatched_case(api, login, world)
    page = api.get("/console/notifications", headers=login("d01"))
    assert page.status_code == 200 and 'id="notify-badge"' in page.text
    assert '<script src="/static/notify/badge.js"></script>' in page.text and "新派遣案件" in page.text
    assert api.get("/static/notify/badge.js").status_code == 200
    assert "Mark all read" in api.get("/console/notifications?lang=en", headers=login("d01")).text
    assert api.get("/console/notify", headers=login("d01")).status_code == 403
    admin = api.get("/console/notify?lang=zh", headers=login("admin"))
    assert admin.status_code == 200 and "投递日志" in admin.text and "${case_number}" in admin.text
