"""The closed loop over HTTP with the right roles: every path a real case can take."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image


@pytest.fixture(autouse=True)
def _history_vouches_for_every_case(session, settings):
    """Whatever path a case took, its events' MACs and state digests still match the case row (`audit verify`)."""
    yield
    from cityloop.audit.keys import audit_key
    from cityloop.audit.trail import verify_case_events

    assert verify_case_events(session, audit_key(settings))[1] == []


@pytest.fixture
def flow(api, login, world):
    """Helpers to report and act as named users."""

    class Flow:
        def report(self, user="inspector01", grid="341122100001001", code="06010", **extra):
            lon, lat = world.point(grid)
            body = {"category_code": code, "lon": lon, "lat": lat, "description": "路边有暴露垃圾", **extra}
            r = api.post("/api/v1/cases", json=body, headers=login(user))
            assert r.status_code == 201, r.text
            return r.json()

        def act(self, case, action, user, expect=200, **body):
            r = api.post(f"/api/v1/cases/{case['id']}/actions/{action}", json=body or None, headers=login(user))
            assert r.status_code == expect, r.text
            return r.json()

        def events(self, case, user="lead1"):
            return [e["action"] for e in api.get(f"/api/v1/cases/{case['id']}/events", headers=login(user)).json()]

    return Flow()


def test_inspector_report_runs_the_whole_loop(flow, world, api, login):
    case = flow.report()
    assert case["stage"] == "reported" and case["source"] == "inspector"
    assert case["number"].startswith("LA20261123") and len(case["number"]) == 15
    assert case["grid_code"] == "341122100001001" and case["duty_grid_code"] == "DG01"
    assert case["node"] == "accept" and case["light"] == "green"
    case = flow.act(case, "accept", "operator1")
    assert case["stage"] == "accepted"  # inspector reports skip 核实
    case = flow.act(case, "file", "lead1")
    assert case["stage"] == "filed" and case["condition_code"] == "01"
    assert case["suggested_department_code"] == "d01" and "规则" in case["routing_reason"]
    case = flow.act(case, "dispatch", "dispatcher1")
    assert case["stage"] == "dispatched" and case["department_code"] == "d01"
    # 4 working hours from Monday 09:00
    assert case["node"] == "handle" and case["node_due_at"].startswith("2026-11-23T13:00") is False
    assert case["node_due_at"] == "2026-11-23T15:00:00+08:00"
    case = flow.act(case, "handle", "d01", result="已清理")
    assert case["stage"] == "handled"
    tasks = api.get("/api/v1/tasks", headers=login("inspector01")).json()
    assert [(t["kind"], t["case_id"]) for t in tasks] == [("check", case["id"])]
    case = flow.act(case, "check_ok", "inspector01")
    assert case["stage"] == "checked"
    case = flow.act(case, "close", "lead1")
    assert case["stage"] == "closed" and case["closed_at"]
    assert flow.events(case) == ["report", "accept", "file", "dispatch", "handle", "check_ok", "close"]


def test_public_report_is_verified_by_the_grid_inspector(flow, api, login):
    case = flow.report(user="operator1", source="public", reporter_phone="13812345678")
    case = flow.act(case, "accept", "operator1")
    assert case["stage"] == "verifying"
    tasks = api.get("/api/v1/tasks", headers=login("inspector01")).json()
    assert tasks and tasks[0]["kind"] == "verify"
    assert api.get("/api/v1/tasks", headers=login("inspector02")).json() == []
    flow.act(case, "verify_ok", "inspector02", expect=404)  # another grid's inspector does not even see it
    case = flow.act(case, "verify_ok", "inspector01")
    assert case["stage"] == "accepted"


def test_a_task_carries_what_the_inspector_needs_on_the_spot(flow, api, login, world):
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (90, 90, 90)).save(buf, "JPEG")
    lon, lat = world.point("341122100001001")
    body = {"category_code": "06010", "lon": lon, "lat": lat, "description": "井盖没了", "source": "hotline"}
    r = api.post("/api/v1/cases", data={"data": json.dumps(body)}, files=[("photos", ("p.jpg", buf.getvalue(), "image/jpeg"))],
                 headers=login("operator1"))
    assert r.status_code == 201, r.text
    flow.act(r.json(), "accept", "operator1")
    [task] = api.get("/api/v1/tasks", headers=login("inspector01")).json()
    assert task["kind"] == "verify" and task["description"] == "井盖没了"
    assert (task["lon"], task["lat"]) == (lon, lat)
    [photo] = task["photos"]  # the reporter's photo, shown as a thumbnail on the card
    assert api.get(f"/api/v1/photos/{photo}/thumb", headers=login("inspector01")).status_code == 200


def test_verify_fail_rejects(flow):
    case = flow.act(flow.report(user="operator1", source="hotline"), "accept", "operator1")
    flow.act(case, "verify_fail", "inspector01", expect=422)  # a reason is required
    case = flow.act(case, "verify_fail", "inspector01", note="现场未发现")
    assert case["stage"] == "rejected"


def test_rework_goes_back_to_the_same_department(flow):
    case = flow.report()
    for action, user in [("accept", "operator1"), ("file", "lead1"), ("dispatch", "dispatcher1")]:
        case = flow.act(case, action, user)
    case = flow.act(case, "handle", "d01", result="已处理")
    case = flow.act(case, "check_fail", "inspector01", note="垃圾仍在")
    assert case["stage"] == "dispatched" and case["department_code"] == "d01" and case["rework_count"] == 1
    case = flow.act(case, "handle", "d01", result="已彻底清理")
    assert flow.act(case, "check_ok", "inspector01")["stage"] == "checked"


def test_return_and_redispatch_elsewhere_counts_wrong_dispatch(flow):
    case = flow.report()
    for action, user in [("accept", "operator1"), ("file", "lead1"), ("dispatch", "dispatcher1")]:
        case = flow.act(case, action, user)
    case = flow.act(case, "request_return", "d01", note="不属于本部门职责")
    assert case["stage"] == "dispatched" and case["pending_request"] == "return"
    flow.act(case, "handle", "d01", expect=409, result="x")
    case = flow.act(case, "approve", "dispatcher1")
    assert case["stage"] == "filed" and case["return_count"] == 1 and case["department_code"] is None
    case = flow.act(case, "dispatch", "dispatcher1", department_code="d02")
    assert case["department_code"] == "d02" and case["wrong_dispatch_count"] == 1
    flow.act(case, "handle", "d01", expect=404)  # d01 no longer sees it
    assert flow.act(case, "handle", "d02", result="已处理")["stage"] == "handled"


def test_extension_moves_the_deadline(flow):
    case = flow.report()
    for action, user in [("accept", "operator1"), ("file", "lead1"), ("dispatch", "dispatcher1")]:
        case = flow.act(case, action, user)
    due = case["node_due_at"]
    flow.act(case, "request_extension", "d01", note="需要协调", extension="banana", expect=422)
    case = flow.act(case, "request_extension", "d01", note="需要协调", extension="1d")
    case = flow.act(case, "deny", "dispatcher1", note="不同意")
    assert case["node_due_at"] == due and case["extension_count"] == 0
    case = flow.act(case, "request_extension", "d01", note="需要协调", extension="1d")
    case = flow.act(case, "approve", "dispatcher1")
    assert case["extension_count"] == 1 and case["node_due_at"] == "2026-11-24T15:00:00+08:00"


def test_suspension_pauses_the_clock(flow, clock):
    case = flow.report()
    for action, user in [("accept", "operator1"), ("file", "lead1"), ("dispatch", "dispatcher1")]:
        case = flow.act(case, action, user)
    assert case["node_due_at"] == "2026-11-23T15:00:00+08:00"
    flow.act(case, "request_suspension", "d01", note="需立项资金")
    case = flow.act(case, "approve", "dispatcher1")
    assert case["stage"] == "suspended" and case["light"] is None
    clock.advance(days=1)  # a whole working day (8 working hours) passes while suspended
    case = flow.act(case, "resume", "dispatcher1")
    assert case["stage"] == "dispatched" and case["node_due_at"] == "2026-11-24T15:00:00+08:00"


def test_void_and_supervise(flow, api, login):
    case = flow.act(flow.report(), "accept", "operator1")
    case = flow.act(case, "supervise", "leader1", note="请加快办理")
    assert case["supervise_count"] == 1 and case["stage"] == "accepted"
    flow.act(case, "void", "operator1", note="x", expect=403)
    flow.act(case, "void", "lead1", note="重复录入", expect=409)  # 作废 is 申请 → 审批 (docs/workflow.md)
    case = flow.act(case, "request_void", "operator1", note="重复录入")
    case = flow.act(case, "void", "lead1", note="同意作废")
    assert case["stage"] == "void" and case["close_type"] == "void"
    flow.act(case, "file", "lead1", expect=409)


def test_merge_into_an_open_case(flow):
    first, second = flow.report(), flow.report()
    merged = flow.act(second, "merge", "operator1", target_case=first["number"])
    assert merged["stage"] == "merged" and merged["merged_into"] == first["number"]
    flow.act(flow.report(), "merge", "operator1", target_case=merged["number"], expect=422)


def test_self_handled_case_is_audited_and_closed(flow):
    case = flow.report(self_handled=True, description="井盖移位，已现场复位")
    assert case["self_handled"] is True
    case = flow.act(case, "self_close", "operator1")
    assert case["stage"] == "closed"
    flow.act(flow.report(), "self_close", "operator1", expect=409)


def test_wrong_stage_and_role_answers_say_what_is_needed(flow, api, login):
    case = flow.report()
    r = api.post(f"/api/v1/cases/{case['id']}/actions/dispatch", headers=login("dispatcher1"))
    assert r.status_code == 409 and r.headers["content-type"].startswith("application/problem+json")
    assert "待派遣" in r.json()["detail"] and "派遣员" in r.json()["detail"]
    r = api.post(f"/api/v1/cases/{case['id']}/actions/accept", headers={**login("lead1"), "Accept-Language": "en"})
    assert r.status_code == 403 and "operator" in r.json()["detail"]


def test_ownership_fallback_and_saved_rule(flow, api, login, world):
    case = flow.report(code="09006")  # no rule for 占道经营: 属地兜底 to the town
    case = flow.act(flow.act(case, "accept", "operator1"), "file", "lead1")
    assert case["suggested_department_code"] == "t100" and case["needs_ownership"] is True
    queue = api.get("/console/ownership", headers=login("dispatcher1"))  # the 待确权 page names what it suggests
    assert queue.status_code == 200 and case["number"] in queue.text
    assert case["suggested_department_name"] in queue.text and case["category_name"] in queue.text
    case = flow.act(case, "dispatch", "dispatcher1", department_code="d01", save_rule_level="street")
    assert case["department_code"] == "d01" and case["needs_ownership"] is False
    again = flow.act(flow.act(flow.report(code="09006"), "accept", "operator1"), "file", "lead1")
    assert again["suggested_department_code"] == "d01" and again["needs_ownership"] is False


def test_urgent_condition_counts_continuous_time(flow, clock):
    case = flow.act(flow.report(code="01001"), "accept", "operator1")
    case = flow.act(case, "file", "lead1", condition_code="01")  # 井盖缺失: 紧急 2h
    assert case["urgent"] is True and case["suggested_department_code"] == "d03"
    case = flow.act(case, "dispatch", "dispatcher1")
    assert case["node_due_at"] == "2026-11-23T11:00:00+08:00"


def test_idempotency_key(api, login, world):
    lon, lat = world.point("341122100001002")
    body = {"category_code": "06010", "lon": lon, "lat": lat, "description": "垃圾"}
    h = {**login("inspector01"), "Idempotency-Key": "k-1"}
    first = api.post("/api/v1/cases", json=body, headers=h)
    again = api.post("/api/v1/cases", json=body, headers=h)
    assert first.status_code == 201 and again.status_code == 200 and first.json()["id"] == again.json()["id"]
    other = api.post("/api/v1/cases", json={**body, "description": "别的"}, headers=h)
    assert other.status_code == 422 and other.json()["code"] == "idempotency-key-reused"
    listed = api.get("/api/v1/cases", headers=login("lead1")).json()
    assert listed["total"] == 1


@pytest.mark.parametrize("body, status, code", [
    ({"category_code": "06010", "lon": 100.0, "lat": 30.0, "description": "x"}, 422, "outside-district"),
    ({"category_code": "99999", "lon": 118.4305, "lat": 32.4495, "description": "x"}, 422, "unknown-category"),
    ({"category_code": "06010", "lon": 118.4305, "lat": 32.4495}, 422, "invalid-input"),
    ({"category_code": "06010", "lon": 918.4, "lat": 32.4495, "description": "x"}, 422, "invalid-input"),
])
def test_bad_reports_change_nothing(api, login, world, body, status, code):
    r = api.post("/api/v1/cases", json=body, headers=login("inspector01"))
    assert (r.status_code, r.json()["code"]) == (status, code)
    assert api.get("/api/v1/cases", headers=login("lead1")).json()["total"] == 0


def test_malformed_json_is_a_clear_422(api, login, world):
    r = api.post("/api/v1/cases", content=b"{not json", headers={**login("inspector01"), "content-type": "application/json"})
    assert r.status_code == 422 and r.json()["code"] == "invalid-input"


def test_visibility_and_filters(flow, api, login):
    a = flow.report()
    b = flow.report(grid="341122100002001", user="inspector02")
    for action, user in [("accept", "operator1"), ("file", "lead1"), ("dispatch", "dispatcher1")]:
        a = flow.act(a, action, user)
    assert [c["id"] for c in api.get("/api/v1/cases", headers=login("d01")).json()["items"]] == [a["id"]]
    assert api.get("/api/v1/cases", headers=login("d02")).json()["total"] == 0
    assert [c["id"] for c in api.get("/api/v1/cases", headers=login("inspector02")).json()["items"]] == [b["id"]]
    lead = login("lead1")
    assert api.get("/api/v1/cases?stage=dispatched", headers=lead).json()["total"] == 1
    assert api.get("/api/v1/cases?department=d01", headers=lead).json()["total"] == 1
    assert api.get("/api/v1/cases?grid=341122100002001", headers=lead).json()["total"] == 1
    assert api.get("/api/v1/cases?overdue=true", headers=lead).json()["total"] == 0
    assert api.get(f"/api/v1/cases/{b['number']}", headers=lead).json()["id"] == b["id"]
    assert api.get(f"/api/v1/cases/{b['id']}", headers=login("d01")).status_code == 404


def test_shift_lead_corrects_the_category_when_filing(flow):
    case = flow.act(flow.report(code="06010"), "accept", "operator1")
    case = flow.act(case, "file", "lead1", category_code="09006")
    assert case["category_code"] == "09006" and case["category_name"] == "占道经营"
    assert case["suggested_department_code"] == "t100"  # no rule for 占道经营: 属地兜底
    wrong = flow.act(flow.act(flow.report(), "accept", "operator1"), "file", "lead1", expect=422, category_code="99999")
    assert wrong["code"] == "unknown-category"


def test_node_deadlines_tell_what_was_on_time(flow, api, login, clock):
    case = flow.report()
    clock.advance(minutes=45)  # 受理 has 30 working minutes
    case = flow.act(case, "accept", "operator1")
    nodes = api.get(f"/api/v1/cases/{case['id']}/nodes", headers=login("lead1")).json()
    assert [(n["node"], n["on_time"]) for n in nodes] == [("accept", False), ("file", None)]
    assert nodes[0]["due_at"] == "2026-11-23T09:30:00+08:00" and nodes[1]["ended_at"] is None


def test_a_report_can_be_checked_without_storing_it(api, login, world):
    lon, lat = world.point("341122100001004")
    body = {"category_code": "06010", "lon": lon, "lat": lat, "description": "垃圾", "source": "hotline"}
    r = api.post("/api/v1/cases/check", json=body, headers=login("operator1"))
    assert r.status_code == 200, r.text
    assert (r.json()["grid_code"], r.json()["needs_verification"]) == ("341122100001004", True)
    assert api.post("/api/v1/cases/check", json={**body, "lon": 100.0}, headers=login("operator1")).status_code == 422
    assert api.get("/api/v1/cases", headers=login("lead1")).json()["total"] == 0


def test_reporter_phones_are_masked_in_lists_and_shown_in_detail(flow, api, login):
    case = flow.report(user="operator1", source="hotline", reporter_phone="13812345678")
    listed = api.get("/api/v1/cases", headers=login("lead1")).json()["items"][0]
    assert listed["reporter_phone"] == "138****5678"
    assert api.get(f"/api/v1/cases/{case['id']}", headers=login("lead1")).json()["reporter_phone"] == "13812345678"


def test_a_wrong_method_says_which_are_allowed(api, login):
    r = api.delete("/api/v1/cases", headers=login("lead1"))
    assert r.status_code == 405 and r.headers["allow"] and r.json()["status"] == 405
