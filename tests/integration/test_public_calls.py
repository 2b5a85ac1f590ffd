"""追呼 through HTTP and the dialer: only 07001 cases, calls on schedule through the telephony port (a fake that
records calls, and the HTTP gateway against a local server), every attempt recorded, and each stop rule — cleared,
verified removal, invalid number, the limit, the stop list — noted on the case and audited."""

from __future__ import annotations

import json
import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from sqlalchemy import select

from cityloop.state import app_state
from cityloop.audit.models import AuditEntry
from cityloop.public.dialer import dial_due
from cityloop.public.telephony import FakeTelephony, HttpVoiceGateway
from tests.conftest import SHANGHAI
from tests.integration.public_kit import add_ad_matter, open_case

API = "/api/v1/public"


@pytest.fixture
def ad_case(session, settings, clock, world):
    add_ad_matter(session)
    return open_case(session, settings, clock, world)


@pytest.fixture
def phone():
    return FakeTelephony(results=lambda number: "invalid" if number == "13900000000" else "no_answer")


def dial(app, telephony) -> int:
    state = app_state(app)
    return dial_due(state.session_factory, state.settings, telephony, state.clock)


def notes(api, login, case_id) -> list[str]:
    events = api.get(f"/api/v1/cases/{case_id}/events", headers=login("lead1")).json()
    return [e["payload"].get("note", "") for e in events if e["action"] == "annotate"]


def start(api, login, case_id, *phones, user="operator1", expect=201, **extra):
    r = api.post(f"{API}/campaigns", headers=login(user), json={"case_id": case_id, "phones": list(phones), **extra})
    assert r.status_code == expect, r.text
    return r.json()


def test_only_an_illegal_ad_case_can_be_called(api, login, session, settings, clock, world, ad_case):
    other = open_case(session, settings, clock, world, code="06010")
    r = api.post(f"{API}/campaigns", headers=login("operator1"), json={"case_id": other.id, "phones": ["13800001111"]})
    assert r.status_code == 409 and r.json()["code"] == "not-an-ad-case"
    assert start(api, login, 999999, "13800001111", expect=404)
    assert start(api, login, ad_case.id, "12345", expect=422)
    assert start(api, login, ad_case.id, "13800001111", user="inspector01", expect=403)
    assert api.get(f"{API}/campaigns", headers=login("operator1")).json() == []


def test_a_campaign_calls_on_schedule_across_days(api, app, login, clock, session, ad_case, phone):
    made = start(api, login, ad_case.id, "138-0000-1111", "+86 138 0000 2222")
    assert [c["phone"] for c in made] == ["13800001111", "13800002222"]
    assert all(c["status"] == "running" and c["started_by_name"] == "operator1" for c in made)
    assert made[0]["next_call_at"].startswith("2026-11-23T01:00")  # due at once: Monday 09:00 in Shanghai
    assert any(n.startswith("追呼开始（operator1）：138****1111、138****2222") for n in notes(api, login, ad_case.id))
    assert session.scalar(select(AuditEntry).where(AuditEntry.action == "public.campaign.start")) is not None
    # a number already being called cannot be started twice
    assert start(api, login, ad_case.id, "13800001111", expect=409)["code"] == "already-calling"

    assert dial(app, phone) == 2
    assert [c[0] for c in phone.calls] == ["13800001111", "13800002222"]
    assert phone.calls[0][1] == "zhuihu-warning-1.wav" and phone.calls[0][2] == f"cityloop-{made[0]['id']}-1"
    assert dial(app, phone) == 0  # nothing due until the next slot
    detail = api.get(f"{API}/campaigns/{made[0]['id']}", headers=login("operator1")).json()
    assert detail["calls"] == 1 and [a["result"] for a in detail["attempts"]] == ["no_answer"]
    assert detail["next_call_at"].startswith("2026-11-23T02:40")  # 10:40, the second of three slots
    clock.set(datetime(2026, 11, 23, 10, 40, tzinfo=SHANGHAI))
    assert dial(app, phone) == 2
    clock.set(datetime(2026, 11, 23, 19, 0, tzinfo=SHANGHAI))  # the dialer was down at 15:20: no calls at night
    assert dial(app, phone) == 0
    detail = api.get(f"{API}/campaigns/{made[0]['id']}", headers=login("operator1")).json()
    assert detail["next_call_at"].startswith("2026-11-24T00:00")  # Tuesday 08:00
    clock.set(datetime(2026, 11, 24, 8, 0, tzinfo=SHANGHAI))
    assert dial(app, phone) == 2
    detail = api.get(f"{API}/campaigns/{made[0]['id']}", headers=login("operator1")).json()
    assert [(a["day_no"], a["level"]) for a in detail["attempts"]] == [(1, 1), (1, 1), (2, 1)]


def test_owner_came_forward_clears_the_number(api, app, login, session, ad_case, phone):
    [c] = start(api, login, ad_case.id, "13800001111")
    r = api.post(f"{API}/campaigns/{c['id']}/clear", headers=login("dispatcher1"),
                 json={"reason": "owner_came_forward", "note": "当事人到执法中队接受处理"})
    assert r.status_code == 200 and r.json()["status"] == "cleared"
    assert r.json()["stopped_by_name"] == "dispatcher1" and r.json()["next_call_at"] is None
    assert dial(app, phone) == 0 and phone.calls == []
    assert any("追呼结束（当事人已到案接受处理）" in n for n in notes(api, login, ad_case.id))
    assert api.post(f"{API}/campaigns/{c['id']}/stop", headers=login("operator1"), json={}).status_code == 409
    actions = list(session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("public.%"))))
    assert actions == ["public.campaign.start", "public.campaign.cleared"]


def test_ads_removed_counts_only_after_verification(api, app, login, ad_case):
    [c] = start(api, login, ad_case.id, "13800001111")
    body = {"reason": "ads_removed"}
    r = api.post(f"{API}/campaigns/{c['id']}/clear", headers=login("operator1"), json=body)
    assert r.status_code == 409 and r.json()["code"] == "not-verified"
    for action, user, extra in [("handle", "d01", {"result": "已清除"}), ("check_ok", "inspector01", {})]:
        r = api.post(f"/api/v1/cases/{ad_case.id}/actions/{action}", headers=login(user), json=extra or None)
        assert r.status_code == 200, r.text
    r = api.post(f"{API}/campaigns/{c['id']}/clear", headers=login("operator1"), json=body)
    assert r.status_code == 200 and r.json()["stop_reason"] == "ads_removed"


def test_an_invalid_number_ends_the_campaign(api, app, login, ad_case, phone):
    [c] = start(api, login, ad_case.id, "13900000000")
    assert dial(app, phone) == 1
    detail = api.get(f"{API}/campaigns/{c['id']}", headers=login("operator1")).json()
    assert (detail["status"], detail["stop_reason"], detail["stopped_by_name"]) == ("ended", "invalid_number", "系统")
    assert any("空号" in n for n in notes(api, login, ad_case.id))


def test_the_call_limit_ends_the_campaign(api, app, login, clock, ad_case, phone):
    [c] = start(api, login, ad_case.id, "13800001111", max_calls=2)
    assert dial(app, phone) == 1
    clock.set(datetime(2026, 11, 23, 10, 40, tzinfo=SHANGHAI))
    assert dial(app, phone) == 1
    detail = api.get(f"{API}/campaigns/{c['id']}", headers=login("operator1")).json()
    assert (detail["status"], detail["stop_reason"], detail["calls"]) == ("ended", "limit", 2)
    stats = api.get(f"{API}/campaigns/stats", headers=login("leader1")).json()
    assert stats["by_status"]["ended"] == 1 and stats["calls"] == 2 and stats["by_reason"] == {"limit": 1}


def test_the_stop_list(api, app, login, ad_case, phone):
    [c] = start(api, login, ad_case.id, "13800001111")
    assert api.post(f"{API}/stop-list", headers=login("operator1"),
                    json={"phone": "13800001111", "reason": "x"}).status_code == 403
    r = api.post(f"{API}/stop-list", headers=login("lead1"), json={"phone": "138 0000 1111", "reason": "号码被冒用"})
    assert r.status_code == 201 and r.json()["phone"] == "13800001111"
    detail = api.get(f"{API}/campaigns/{c['id']}", headers=login("operator1")).json()
    assert (detail["status"], detail["stop_reason"], detail["stopped_by_name"]) == ("stopped", "stop_list", "lead1")
    assert dial(app, phone) == 0
    assert start(api, login, ad_case.id, "13800001111", expect=409)["code"] == "on-stop-list"
    assert api.post(f"{API}/stop-list", headers=login("lead1"),
                    json={"phone": "13800001111", "reason": "again"}).status_code == 409
    entry = api.get(f"{API}/stop-list", headers=login("operator1")).json()[0]
    assert api.delete(f"{API}/stop-list/{entry['id']}", headers=login("lead1")).status_code == 204
    assert start(api, login, ad_case.id, "13800001111")[0]["status"] == "running"


class Gateway(BaseHTTPRequestHandler):
    """A voice gateway on this machine: answers by the last digit of the number."""

    seen: list = []

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Gateway.seen.append((body, self.headers.get("Authorization")))
        if body["to"].endswith("9"):
            self.send_response(500)
            self.end_headers()
            return
        answer = {"result": "answered" if body["to"].endswith("1") else "busy", "duration": 31, "id": "gw-7"}
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def test_http_voice_gateway():
    server = HTTPServer(("127.0.0.1", 0), Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        gateway = HttpVoiceGateway(f"http://127.0.0.1:{server.server_port}/call", "12319", token="t0k", timeout=5)
        answered = gateway.call("13800001111", "warning-1.wav", "cityloop-1-1")
        assert (answered.result, answered.duration_s, answered.ref) == ("answered", 31.0, "gw-7")
        assert gateway.call("13800001112", "warning-1.wav", "cityloop-1-2").result == "busy"
        broken = gateway.call("13800001119", "warning-1.wav", "cityloop-1-3")
        assert broken.result == "failed" and "500" in broken.error
        body, auth = Gateway.seen[0]
        assert body == {"to": "13800001111", "caller_id": "12319", "recording": "warning-1.wav", "ref": "cityloop-1-1"}
        assert auth == "Bearer t0k"
    finally:
        server.shutdown()
    unreachable = HttpVoiceGateway(f"http://127.0.0.1:{server.server_port}/call", "12319", timeout=1)
    assert unreachable.call("13800001111", "w", "r").result == "failed"


def test_a_broken_gateway_is_a_failed_call_not_a_dead_dialer(api, app, login, ad_case):
    class Broken:
        def call(self, phone, recording, ref):
            raise RuntimeError("line down")

    [c] = start(api, login, ad_case.id, "13800001111")
    assert dial(app, Broken()) == 1
    detail = api.get(f"{API}/campaigns/{c['id']}", headers=login("operator1")).json()
    assert detail["status"] == "running" and detail["attempts"][0]["result"] == "failed"
    assert detail["attempts"][0]["error"] == "line down"
    assert detail["next_call_at"].startswith("2026-11-23T02:40")  # the next slot, as after any call
