"""The workflow table: who may do what in which stage, and where the case goes."""

import pytest

from cityloop.cases.domain import TRUSTED_SOURCES, ActorState, CaseState, WorkflowError, available_actions, decide

OP = ActorState(1, frozenset({"operator"}))
LEAD = ActorState(2, frozenset({"shift_lead"}))
DISP = ActorState(3, frozenset({"dispatcher"}))
DEPT = ActorState(4, frozenset({"department"}), department_id=10)
OTHER_DEPT = ActorState(5, frozenset({"department"}), department_id=11)
INSP = ActorState(6, frozenset({"inspector"}), duty_grids=frozenset({"DG01"}))
OTHER_INSP = ActorState(7, frozenset({"inspector"}), duty_grids=frozenset({"DG02"}))
LEADER = ActorState(8, frozenset({"leader"}))
ADMIN = ActorState(9, frozenset({"admin"}))
SYSTEM = ActorState(None, frozenset({"system"}))


def case(stage, source="inspector", **kw):
    kw.setdefault("department_id", 10)
    kw.setdefault("duty_grid_code", "DG01")
    kw.setdefault("needs_verification", source not in TRUSTED_SOURCES)  # what intake decides by default
    return CaseState(stage, source, **kw)


@pytest.mark.parametrize("state, action, actor, target", [
    (case("reported"), "accept", OP, "accepted"),
    (case("reported", "public"), "accept", OP, "verifying"),
    (case("reported", "hotline"), "accept", OP, "verifying"),
    (case("reported", "video"), "accept", OP, "verifying"),
    (case("reported"), "reject", OP, "rejected"),
    (case("reported"), "merge", OP, "merged"),
    (case("reported", self_handled=True), "self_close", OP, "closed"),
    (case("verifying", "public"), "verify_ok", INSP, "accepted"),
    (case("verifying", "public"), "verify_fail", INSP, "rejected"),
    (case("verifying", "public", task_assignee_id=7), "verify_ok", OTHER_INSP, "accepted"),
    (case("accepted"), "file", LEAD, "filed"),
    (case("accepted"), "refuse", LEAD, "rejected"),
    (case("filed"), "dispatch", DISP, "dispatched"),
    (case("dispatched"), "handle", DEPT, "handled"),
    (case("dispatched"), "request_return", DEPT, None),
    (case("dispatched", pending_request="return"), "approve", DISP, "filed"),
    (case("dispatched", pending_request="suspension"), "approve", DISP, "suspended"),
    (case("dispatched", pending_request="extension"), "approve", DISP, None),
    (case("dispatched", pending_request="extension"), "deny", DISP, None),
    (case("suspended"), "resume", DISP, "dispatched"),
    (case("handled"), "check_ok", INSP, "checked"),
    (case("handled"), "check_fail", INSP, "dispatched"),
    (case("checked"), "close", LEAD, "closed"),
    (case("dispatched", pending_request="void"), "void", LEAD, "void"),  # 作废审批 of a request_void
    (case("filed"), "supervise", LEADER, None),
    (case("filed"), "supervise", LEAD, None),
    (case("filed"), "dispatch", ADMIN, "dispatched"),
    (case("reported", "video", needs_verification=False), "accept", OP, "accepted"),  # a sure camera capture
    (case("reported", "sensor"), "accept", SYSTEM, "accepted"),
    (case("reported", "fleet"), "accept", SYSTEM, "accepted"),
    (case("accepted", "sensor"), "file", SYSTEM, "filed"),
    (case("filed", "sensor"), "dispatch", SYSTEM, "dispatched"),
    (case("dispatched", "sensor"), "annotate", SYSTEM, None),
    (case("closed"), "annotate", OP, None),
    (case("closed", "public"), "rate", SYSTEM, None),
])
def test_allowed(state, action, actor, target):
    assert decide(state, action, actor) == target


@pytest.mark.parametrize("state, action, actor, status, code", [
    (case("reported"), "dispatch", DISP, 409, "wrong-stage"),
    (case("closed"), "void", LEAD, 409, "wrong-stage"),
    (case("closed"), "supervise", LEADER, 409, "wrong-stage"),
    (case("accepted"), "file", OP, 403, "wrong-role"),
    (case("filed"), "dispatch", LEAD, 403, "wrong-role"),
    (case("dispatched"), "handle", OTHER_DEPT, 403, "not-your-case"),
    (case("handled"), "check_ok", OTHER_INSP, 403, "not-your-task"),
    (case("verifying", task_assignee_id=6), "verify_ok", OTHER_INSP, 403, "not-your-task"),
    (case("reported"), "self_close", OP, 409, "not-self-handled"),
    (case("dispatched", pending_request="return"), "handle", DEPT, 409, "request-pending"),
    (case("dispatched", pending_request="return"), "request_extension", DEPT, 409, "request-pending"),
    (case("dispatched"), "approve", DISP, 409, "no-request"),
    (case("dispatched"), "fly", DISP, 404, "unknown-action"),
    (case("dispatched", "sensor"), "handle", SYSTEM, 403, "wrong-role"),
    (case("checked", "sensor"), "close", SYSTEM, 403, "wrong-role"),
    (case("closed"), "rate", ADMIN, 403, "wrong-role"),
    (case("dispatched"), "rate", SYSTEM, 409, "wrong-stage"),
    (case("dispatched"), "annotate", DEPT, 403, "wrong-role"),
])
def test_refused(state, action, actor, status, code):
    with pytest.raises(WorkflowError) as err:
        decide(state, action, actor)
    assert (err.value.status, err.value.code) == (status, code)


def test_refusal_names_the_stage_and_role_needed():
    with pytest.raises(WorkflowError) as err:
        decide(case("reported"), "dispatch", DISP)
    assert "待派遣" in err.value.zh and "派遣员" in err.value.zh and "待受理" in err.value.zh
    assert "filed" in err.value.en and "dispatcher" in err.value.en


def test_available_actions():
    assert set(available_actions(case("dispatched"), DEPT)) == {
        "handle", "request_return", "request_extension", "request_suspension"}
    assert set(available_actions(case("filed"), DISP)) == {"dispatch", "annotate", "send_back_to_lead", "request_void"}
    assert available_actions(case("closed"), ADMIN) == ["annotate"]
