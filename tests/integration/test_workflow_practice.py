"""The practice flows of docs/workflow.md over HTTP, as the people who take them: 回退 to the previous node,
作废 申请→审批, 督办单 with 督查, 主办/协办, the 受理员 sending 核查 tasks, and 结案类型."""

from __future__ import annotations


import pytest

from cityloop.cases.tasks import sweep


@pytest.fixture(autouse=True)
def _history_vouches_for_every_case(session, settings):
    """Every path still leaves events whose MACs and state digests match the case row (`audit verify`)."""
    yield
    from cityloop.audit.keys import audit_key
    from cityloop.audit.trail import verify_case_events

    assert verify_case_events(session, audit_key(settings))[1] == []


@pytest.fixture
def flow(api, login, world):
    class Flow:
        def report(self, grid="341122100001001", code="06010"):
            lon, lat = world.point(grid)
            body = {"category_code": code, "lon": lon, "lat": lat, "description": "路边有暴露垃圾"}
            r = api.post("/api/v1/cases", json=body, headers=login("inspector01"))
            assert r.status_code == 201, r.text
            return r.json()

        def act(self, case, action, user, expect=200, **body):
            r = api.post(f"/api/v1/cases/{case['id']}/actions/{action}", json=body or None, headers=login(user))
            assert r.status_code == expect, r.text
            return r.json()

        def dispatched(self, **body):
            case = self.act(self.act(self.report(), "accept", "operator1"), "file", "lead1")
            return self.act(case, "dispatch", "dispatcher1", **{"department_code": "d01", **body})

        def events(self, case):
            return api.get(f"/api/v1/cases/{case['id']}/events", headers=login("lead1")).json()

        def page(self, case, user):
            r = api.get(f"/console/cases/{case['id']}", headers=login(user))
            assert r.status_code == 200, r.text
            return r.text

        def get(self, path, user, expect=200, **params):
            r = api.get(path, params=params, headers=login(user))
            assert r.status_code == expect, r.text
            return r.json()

    return Flow()


def test_send_back_to_the_previous_node_restarts_its_clock(flow, api, login, clock):
    case = flow.act(flow.act(flow.report(), "accept", "operator1"), "file", "lead1")
    flow.act(case, "send_back_to_lead", "dispatcher1", expect=422)  # a reason is required
    flow.act(case, "send_back_to_lead", "lead1", note="x", expect=403)
    clock.advance(minutes=20)
    case = flow.act(case, "send_back_to_lead", "dispatcher1", note="立案条件选错，应为紧急")
    assert case["stage"] == "accepted" and case["node"] == "file" and case["send_back_count"] == 1
    assert "退回 1" in flow.page(case, "lead1")
    assert case["node_due_at"] == "2026-11-23T09:50:00+08:00"  # the 立案 node again, its full 30 minutes
    assert case["return_count"] == 0 and case["rework_count"] == 0  # not a department's 回退, not 返工
    case = flow.act(case, "send_back_to_operator", "lead1", note="地址不全，请补充")
    assert case["stage"] == "reported" and case["node"] == "accept" and case["send_back_count"] == 2
    events = flow.events(case)
    assert [e["action_name"] for e in events[-2:]] == ["回退至值班长", "回退至受理员"]
    assert events[-1]["payload"]["note"] == "地址不全，请补充"
    nodes = api.get(f"/api/v1/cases/{case['id']}/nodes", headers=login("lead1")).json()
    assert [n["node"] for n in nodes] == ["accept", "file", "dispatch", "file", "accept"]
    assert nodes[2]["ended_at"] and nodes[-1]["ended_at"] is None
    case = flow.act(flow.act(case, "accept", "operator1"), "file", "lead1")
    assert flow.act(case, "dispatch", "dispatcher1")["stage"] == "dispatched"


def test_void_is_requested_then_approved_or_denied(flow, settings):
    case = flow.dispatched()
    flow.act(case, "void", "lead1", note="误报", expect=409)
    flow.act(case, "request_void", "d01", note="误报", expect=403)  # departments apply for 回退, not 作废
    flow.act(case, "request_void", "operator1", expect=422)
    case = flow.act(case, "request_void", "operator1", note="重复上报")
    assert case["pending_request"] == "void"
    flow.act(case, "approve", "dispatcher1", expect=409)  # the shift lead decides a 作废
    flow.act(case, "handle", "d01", result="x", expect=409)
    case = flow.act(case, "deny_void", "lead1", note="不是重复，继续办理")
    assert case["pending_request"] is None and case["stage"] == "dispatched"
    flow.act(case, "request_void", "dispatcher1", note="派遣前已有同一问题的案件")
    case = flow.act(case, "void", "lead1", note="同意作废")
    assert case["stage"] == "void" and case["close_type"] == "void" and case["close_type_name"] == "作废"
    last = flow.events(case)[-1]
    assert last["payload"]["approved"] is True and last["payload"]["reason"] == "派遣前已有同一问题的案件"
    settings.void_direct = True  # the deployment option: the shift lead voids without a request
    assert flow.act(flow.dispatched(), "void", "lead1", note="录入错误")["stage"] == "void"


def test_supervision_order_reply_and_check(flow, clock, session, settings):
    case = flow.dispatched()
    flow.act(case, "supervise", "leader1", note="请今天内处理", reply_within="banana", expect=422)
    case = flow.act(case, "supervise", "leader1", note="请今天内处理并回复", reply_within="2h")
    assert case["supervise_count"] == 1
    open_ = flow.get("/api/v1/supervisions", "d01", status="open")
    assert [(s["case_id"], s["repeat"], s["due_at"][:16]) for s in open_] == [(case["id"], 1, "2026-11-23T11:00")]
    assert flow.get("/api/v1/supervisions", "d02") == []
    flow.get("/api/v1/supervisions", "inspector01", expect=403)
    flow.act(case, "supervise_reply", "d02", note="x", expect=404)  # d02 does not even see the case
    flow.act(case, "supervise_close", "leader1", expect=409)  # nothing replied yet
    case = flow.act(case, "supervise_reply", "d01", note="已安排人员，下午处理")
    case = flow.act(case, "supervise_return", "leader1", note="请写明完成时间")
    assert flow.get("/api/v1/supervisions", "leader1", status="open")[0]["check_note"] == "请写明完成时间"
    flow.act(case, "supervise_reply", "d01", note="已安排人员，15:00 前完成")
    flow.act(case, "supervise_close", "leader1", note="督查通过")
    assert flow.get("/api/v1/supervisions", "leader1", status="closed")[0]["reply"] == "已安排人员，15:00 前完成"
    # a repeat 督办单 nobody answers: the sweep records it once as 督办单超期未回复
    flow.act(case, "supervise", "lead1", note="再次督办", reply_within="1h")
    clock.advance(hours=2)
    sweep(session, settings, clock.now())
    sweep(session, settings, clock.now())
    overdue = flow.get("/api/v1/supervisions", "d01", overdue="true")
    assert [(s["repeat"], s["overdue"]) for s in overdue] == [(2, True)]
    assert [e["action"] for e in flow.events(case)].count("supervise_overdue") == 1
    page = flow.page(case, "lead1")  # the case page lists its 督办单 by unit name, the unanswered one as overdue
    assert "督办单" in page and "已安排人员，15:00 前完成" in page and "超期未回复" in page and "县城管执法局" in page
    figures = flow.get("/api/v1/assists/figures", "leader1", start="2026-11-01T00:00:00Z", end="2026-12-01T00:00:00Z")
    assert [(f["department_code"], f["supervisions"], f["supervisions_unanswered"], f["supervisions_repeated"])
            for f in figures] == [("d01", 2, 1, 1)]


def test_lead_and_helper_departments(flow, api, login):
    helpers = [{"department_code": "d02", "task": "拆除违建部分", "limit": "4h"},
               {"department_code": "d03", "task": "停水配合"}]
    flow.act(flow.act(flow.act(flow.report(), "accept", "operator1"), "file", "lead1"), "dispatch", "dispatcher1",
             department_code="d01", helpers=[{"department_code": "d01", "task": "x"}], expect=422)  # the lead itself
    case = flow.dispatched(helpers=helpers)
    assert case["department_code"] == "d01"
    assert flow.get(f"/api/v1/cases/{case['id']}", "d02")["actions"] == ["assist_report"]
    assert case["id"] in {t["case_id"] for t in flow.get("/api/v1/tasks", "d02")}
    mine = flow.get("/api/v1/assists", "d02", status="open")
    assert [(a["task"], a["lead_department_code"], a["due_at"][:16]) for a in mine] == \
        [("拆除违建部分", "d01", "2026-11-23T15:00")]  # 4 working hours: 15:00 local
    flow.act(case, "handle", "d02", result="x", expect=403)  # a helper does not handle the case
    shown = flow.get("/api/v1/assists", "d01", case=case["id"])  # the lead sees its helpers' open tasks
    assert [(a["department_code"], a["status"]) for a in shown] == [("d02", "open"), ("d03", "open")]
    assert flow.get("/api/v1/assists", "d02", case=case["id"])[0]["department_code"] == "d02"
    flow.act(case, "assist_report", "d02", expect=422)
    case = flow.act(case, "assist_report", "d02", result="违建部分已拆除")
    page = flow.page(case, "d01")
    assert "协办任务" in page and "拆除违建部分" in page and "违建部分已拆除" in page and "停水配合" in page
    flow.act(case, "assist_report", "d02", result="again", expect=403)
    case = flow.act(case, "handle", "d01", result="已处理完毕")  # the lead reports: the case is handled
    assert case["stage"] == "handled"
    d03 = api.get("/api/v1/departments", headers=login("leader1")).json()
    d03_id = next(d["id"] for d in d03 if d["code"] == "d03")
    assert flow.events(case)[-1]["payload"]["assists_unfinished"] == [d03_id]
    assert [a["status"] for a in flow.get("/api/v1/assists", "d03")] == ["lapsed"]
    figures = {f["department_code"]: f for f in flow.get("/api/v1/assists/figures", "leader1",
                                                         start="2026-11-01T00:00:00Z", end="2026-12-01T00:00:00Z")}
    assert (figures["d02"]["assist_due"], figures["d02"]["assist_on_time"], figures["d02"]["assist_on_time_rate"]) \
        == (1, 1, 1.0)
    assert (figures["d03"]["assist_unfinished"], figures["d03"]["assist_on_time_rate"]) == (1, 0.0)
    assert [f["department_code"] for f in flow.get("/api/v1/assists/figures", "d02", start="2026-11-01T00:00:00Z",
                                                   end="2026-12-01T00:00:00Z")] == ["d02"]


def test_operator_sends_the_check_task_and_is_assessed_on_it(flow, settings, clock, api, login):
    settings.check_dispatch = "operator"
    case = flow.act(flow.dispatched(), "handle", "d01", result="已清理")
    assert case["stage"] == "handled" and case["node"] == "send_check"
    assert flow.get("/api/v1/tasks", "inspector01") == []
    flow.act(case, "check_ok", "inspector01", expect=409)
    assert case["id"] in {t["case_id"] for t in flow.get("/api/v1/tasks", "operator1")}
    clock.advance(minutes=40)  # the 发核查 node allows 30 minutes
    case = flow.act(case, "send_check", "operator1")
    assert case["node"] == "check"
    assert [t["kind"] for t in flow.get("/api/v1/tasks", "inspector01")] == ["check"]
    case = flow.act(flow.act(case, "check_ok", "inspector01"), "close", "lead1")
    assert case["close_type"] == "normal"
    rows = api.get("/api/v1/assessment/operator?period=2026-11", headers=login("leader1")).json()["rows"]
    op = next(r for r in rows if r["name"] == "operator1")
    assert (op["counters"]["check_send_due"], op["counters"]["check_sent"]) == (1, 1)
    assert op["counters"].get("check_sent_on_time", 0) == 0
    assert op["rates"]["check_send_on_time_rate"] == 0.0


def test_close_type_recorded_and_counted(flow, clock, api, login):
    late = flow.dispatched()  # due 15:00 (4 working hours from 09:00)
    clock.advance(hours=7)
    late = flow.act(flow.act(flow.act(late, "handle", "d01", result="已处理"), "check_ok", "inspector01"),
                    "close", "lead1")
    assert (late["close_type"], late["close_type_name"]) == ("overtime", "超时结案")
    assert "结案类型" in flow.page(late, "lead1") and "超时结案" in flow.page(late, "lead1")
    special = flow.act(flow.act(flow.dispatched(), "handle", "d01", result="已处理"), "check_ok", "inspector01")
    flow.act(special, "close", "lead1", close_type="special", expect=422)  # needs the reason
    special = flow.act(special, "close", "lead1", close_type="special", note="领导批示，按特殊结案")
    assert special["close_type"] == "special"
    assert flow.events(special)[-1]["payload"]["close_type"] == "special"
    rows = api.get("/api/v1/assessment/department?period=2026-11", headers=login("leader1")).json()["rows"]
    d01 = next(r for r in rows if r["name"] == "县城管执法局")["counters"]
    assert (d01["closed"], d01["closed_overtime"], d01["closed_special"], d01.get("closed_on_time", 0)) == (2, 1, 1, 0)


@pytest.mark.parametrize("path, params, status", [
    ("/api/v1/assists/figures", {"start": "2026-12-01T00:00:00Z", "end": "2026-11-01T00:00:00Z"}, 422),
    ("/api/v1/assists/figures", {"start": "yesterday", "end": "2026-11-01T00:00:00Z"}, 422),
    ("/api/v1/supervisions", {"department": "nope"}, 422),
    ("/api/v1/supervisions", {"status": "lost"}, 422),
    ("/api/v1/assists", {"case": "0"}, 422),
])
def test_list_bad_input(flow, path, params, status):
    flow.get(path, "leader1", expect=status, **params)


def test_bad_practice_input_changes_nothing(flow):
    case = flow.dispatched()
    flow.act(case, "supervise", "leader1", department_code="nope", expect=422)
    flow.act(case, "supervise", "leader1", reply_within="99999d", expect=422)
    flow.act(case, "supervise_reply", "d01", note="x", supervision_id=99, expect=403)
    case = flow.act(case, "supervise", "leader1", note="请处理")
    flow.act(case, "supervise_reply", "d01", note="x", supervision_id=99, expect=404)
    again = flow.get(f"/api/v1/cases/{case['id']}", "leader1")
    assert again["supervise_count"] == 1 and flow.get("/api/v1/supervisions", "leader1")[0]["status"] == "open"
