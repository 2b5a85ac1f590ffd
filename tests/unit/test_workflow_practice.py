"""The practice rules of docs/workflow.md, table-driven: 回退 to the previous node, 作废 申请→审批, 发核查,
主办/协办, 督办单 and 督查, 结案类型; and the 督办单/协办 figures."""

from datetime import datetime, timedelta, timezone

import pytest

from cityloop.cases.domain import ActorState, CaseState, WorkflowError, available_actions, close_type, decide
from cityloop.supervision.domain import assist_figures, supervision_figures, supervision_overdue

OP = ActorState(1, frozenset({"operator"}))
LEAD = ActorState(2, frozenset({"shift_lead"}))
DISP = ActorState(3, frozenset({"dispatcher"}))
DEPT = ActorState(4, frozenset({"department"}), department_id=10)
HELPER = ActorState(5, frozenset({"department"}), department_id=11)
INSP = ActorState(6, frozenset({"inspector"}), duty_grids=frozenset({"DG01"}))
LEADER = ActorState(8, frozenset({"leader"}))
ADMIN = ActorState(9, frozenset({"admin"}))
SYSTEM = ActorState(None, frozenset({"system"}))


def case(stage, **kw):
    kw.setdefault("department_id", 10)
    kw.setdefault("duty_grid_code", "DG01")
    return CaseState(stage, "inspector", **kw)


@pytest.mark.parametrize("state, action, actor, target", [
    # 回退 to the previous node: 派遣员 → 值班长 (立案), 值班长 → 受理员 (受理)
    (case("filed"), "send_back_to_lead", DISP, "accepted"),
    (case("accepted"), "send_back_to_operator", LEAD, "reported"),
    # 作废: 申请 (受理员/派遣员) → 审批 (值班长); the platform voids directly; a deployment may let the lead too
    (case("dispatched"), "request_void", OP, None),
    (case("filed"), "request_void", DISP, None),
    (case("dispatched", pending_request="void"), "void", LEAD, "void"),
    (case("dispatched", pending_request="void"), "deny_void", LEAD, None),
    (case("dispatched"), "void", SYSTEM, "void"),
    (case("dispatched", void_direct=True), "void", LEAD, "void"),
    # 发核查 by the 受理员 (CITYLOOP_CHECK_DISPATCH=operator)
    (case("handled", check_sent=False), "send_check", OP, None),
    (case("handled"), "check_ok", INSP, "checked"),
    # 协办: a helper reports its part; the lead (主办) handles the case
    (case("dispatched", assist_departments=frozenset({11})), "assist_report", HELPER, None),
    (case("dispatched", assist_departments=frozenset({11})), "handle", DEPT, "handled"),
    # 督办单: the unit replies, the leader's 督查 closes or returns it, in any stage
    (case("dispatched", supervised_departments=frozenset({10})), "supervise_reply", DEPT, None),
    (case("closed", supervised_departments=frozenset({11})), "supervise_reply", HELPER, None),
    (case("dispatched", supervision_replied=True), "supervise_close", LEADER, None),
    (case("dispatched", supervision_replied=True), "supervise_return", LEAD, None),
])
def test_allowed(state, action, actor, target):
    assert decide(state, action, actor) == target


@pytest.mark.parametrize("state, action, actor, status, code", [
    (case("filed"), "send_back_to_lead", LEAD, 403, "wrong-role"),
    (case("dispatched"), "send_back_to_lead", DISP, 409, "wrong-stage"),
    (case("accepted"), "send_back_to_operator", OP, 403, "wrong-role"),
    (case("reported"), "send_back_to_operator", LEAD, 409, "wrong-stage"),
    (case("dispatched"), "void", LEAD, 409, "void-not-requested"),
    (case("dispatched"), "void", ADMIN, 409, "void-not-requested"),  # admins act for people: same rule
    (case("dispatched"), "request_void", DEPT, 403, "wrong-role"),
    (case("dispatched"), "request_void", LEAD, 403, "wrong-role"),
    (case("dispatched", pending_request="return"), "request_void", OP, 409, "request-pending"),
    (case("dispatched", pending_request="void"), "approve", DISP, 409, "void-request"),
    (case("dispatched", pending_request="void"), "deny", DISP, 409, "void-request"),
    (case("dispatched", pending_request="return"), "deny_void", LEAD, 409, "no-void-request"),
    (case("dispatched", pending_request="void"), "handle", DEPT, 409, "request-pending"),
    (case("closed"), "request_void", OP, 409, "wrong-stage"),
    (case("handled", check_sent=False), "check_ok", INSP, 409, "check-not-sent"),
    (case("handled", check_sent=False), "reassign", OP, 409, "check-not-sent"),
    (case("handled"), "send_check", OP, 409, "check-already-sent"),
    (case("handled", check_sent=False), "send_check", DISP, 403, "wrong-role"),
    (case("dispatched", assist_departments=frozenset({12})), "assist_report", HELPER, 403, "not-your-assist"),
    (case("dispatched"), "assist_report", ADMIN, 409, "no-assist"),
    (case("handled", assist_departments=frozenset({11})), "assist_report", HELPER, 409, "wrong-stage"),
    (case("dispatched", supervised_departments=frozenset({10})), "supervise_reply", HELPER, 403, "not-supervised"),
    (case("dispatched"), "supervise_reply", ADMIN, 409, "no-supervision"),
    (case("dispatched"), "supervise_close", LEADER, 409, "no-reply"),
    (case("dispatched", supervision_replied=True), "supervise_close", DEPT, 403, "wrong-role"),
])
def test_refused(state, action, actor, status, code):
    with pytest.raises(WorkflowError) as err:
        decide(state, action, actor)
    assert (err.value.status, err.value.code) == (status, code)


def test_available_actions_follow_the_practice():
    assert "send_back_to_operator" in available_actions(case("accepted"), LEAD)
    assert "void" not in available_actions(case("filed"), LEAD)
    assert {"void", "deny_void"} <= set(available_actions(case("filed", pending_request="void"), LEAD))
    assert available_actions(case("handled", check_sent=False), INSP) == []
    assert "send_check" in available_actions(case("handled", check_sent=False), OP)
    helper = available_actions(case("dispatched", assist_departments=frozenset({11})), HELPER)
    assert helper == ["assist_report"]  # a helper never handles the case nor applies for the lead


@pytest.mark.parametrize("late, special, expected", [
    (False, False, "normal"), (True, False, "overtime"), (False, True, "special"), (True, True, "special"),
])
def test_close_type(late, special, expected):
    assert close_type(late, special) == expected


T = datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc)
H = timedelta(hours=1)


@pytest.mark.parametrize("status, replied, now, overdue", [
    ("open", None, T - H, False),  # not yet due
    ("open", None, T + H, True),  # unanswered past the deadline
    ("replied", T - H, T + H, False),  # answered in time
    ("replied", T + H, T + 2 * H, True),  # answered late
    ("closed", T - H, T + H, False),
    ("open", T + H, T + 2 * H, True),  # returned by 督查 after a late reply
])
def test_supervision_overdue(status, replied, now, overdue):
    assert supervision_overdue(status, T, replied, now) is overdue


def test_supervision_figures_worked_example():
    # d01 got three 督办单: one answered in time, one late, one a repeat still open past its deadline
    rows = [("closed", T, T - H, 1), ("replied", T, T + H, 1), ("open", T, None, 2)]
    figs = supervision_figures(rows, T + 2 * H)
    assert (figs.issued, figs.unanswered, figs.repeated) == (3, 2, 1)
    assert figs.unanswered_rate == pytest.approx(2 / 3)
    assert supervision_figures([], T).unanswered_rate is None


def test_assist_figures_worked_example():
    # 5 helper tasks: 2 done in time, 1 done late, 1 unfinished when the lead reported, 1 cancelled (case void)
    figs = assist_figures([("done", True), ("done", True), ("done", False), ("lapsed", False), ("cancelled", None)])
    assert (figs.due, figs.done, figs.on_time, figs.lapsed) == (4, 3, 2, 1)
    assert figs.on_time_rate == pytest.approx(0.5)
    assert assist_figures([("cancelled", None)]).on_time_rate is None
