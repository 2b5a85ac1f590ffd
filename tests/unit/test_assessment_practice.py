"""Counters and scores of the practice flows (docs/workflow.md, docs/assessment.md), from hand-written histories:
回退 to the previous node, 发核查 by the 受理员, 结案类型, 督办单; and the 受理员 formula's 核查按时派发率."""

from __future__ import annotations

import pytest

from cityloop.assessment import engine
from cityloop.assessment.domain import Facts, derive
from cityloop.assessment.figures import NODE_CODES, RATES, rate
from cityloop.assessment.scoring import make_config, score
from tests.unit.test_assessment_domain import (BASE, CAL, D1, DISP, DONE, INSP, INTAKE, INTAKE_RUNS, LEAD, OP,
                                               STAFF, E, R, t)

LEADER = 16
HANDLED = INTAKE + [E("handle", 200, STAFF, "handled")]
HANDLED_RUNS = INTAKE_RUNS + [R("handle", 300, 200, D1)]

CASES = [
    # name, events, runs, expected counters, objects (subset), (open node, pending minute)
    ("sent back twice: 值班长 → 受理员, 派遣员 → 值班长; the redone runs are judged", [
        E("report", 0, INSP, "reported"), E("accept", 10, OP, "accepted"),
        E("send_back_to_operator", 20, LEAD, "reported"), E("accept", 30, OP, "accepted"),
        E("file", 40, LEAD, "filed"), E("send_back_to_lead", 45, DISP, "accepted"), E("file", 50, LEAD, "filed"),
        E("dispatch", 55, DISP, "dispatched", department_id=D1)],
     [R("accept", 30, 10), R("file", 50, 20), R("accept", 60, 30), R("file", 70, 40), R("dispatch", 75, 45),
      R("file", 80, 50), R("dispatch", 85, 55), R("handle", 300, None, D1)],
     BASE | {"valid_reported": 1, "accurate_dispatched": 1, "handle_due": 1, "close_due": 1,
             "sent_back_to_lead": 1, "sent_back_to_operator": 1},
     {"operator_id": OP, "filer_id": LEAD, "dispatcher_id": DISP}, (NODE_CODES["handle"], 300)),
    ("发核查 by the 受理员, 10 minutes late", HANDLED + [
        E("send_check", 220, OP, "handled", on_time=False), E("check_ok", 230, INSP, "checked"),
        E("close", 240, LEAD, "closed", close_type="normal")],
     HANDLED_RUNS + [R("send_check", 210, 220), R("check", 260, 230), R("close", 270, 240)],
     BASE | DONE | {"handled_on_time": 1, "closed_on_time": 1, "check_send_due": 1, "check_sent": 1},
     {"operator_id": OP}, (0, None)),
    ("发核查 waiting, still in time", HANDLED, HANDLED_RUNS + [R("send_check", 230)],
     BASE | {"valid_reported": 1, "accurate_dispatched": 1, "handle_due": 1, "close_due": 1, "handled": 1,
             "handled_on_time": 1, "check_send_due": 1},
     {}, (NODE_CODES["send_check"], 230)),
    ("特殊结案: closed, neither on time nor late", HANDLED + [
        E("check_ok", 230, INSP, "checked"), E("close", 240, LEAD, "closed", close_type="special")],
     HANDLED_RUNS + [R("check", 260, 230), R("close", 270, 240)],
     BASE | DONE | {"handled_on_time": 1, "closed_special": 1}, {}, (0, None)),
    ("超时结案 as recorded on the close event", HANDLED + [
        E("check_ok", 230, INSP, "checked"), E("close", 240, LEAD, "closed", close_type="overtime")],
     HANDLED_RUNS + [R("check", 260, 230), R("close", 270, 240)],
     BASE | DONE | {"handled_on_time": 1, "closed_overtime": 1}, {}, (0, None)),
    ("督办单 unanswered by its deadline, then a repeat answered", INTAKE + [
        E("supervise", 30, LEADER, "dispatched", supervision_id=1, department_id=D1, repeat=1),
        E("supervise_overdue", 100, None, "dispatched", supervision_id=1),
        E("supervise", 110, LEADER, "dispatched", supervision_id=2, department_id=D1, repeat=2),
        E("supervise_reply", 120, STAFF, "dispatched", supervision_id=2, on_time=True)],
     INTAKE_RUNS + [R("handle", 300, None, D1)],
     BASE | {"valid_reported": 1, "accurate_dispatched": 1, "handle_due": 1, "close_due": 1, "supervised": 1,
             "supervision_ordered": 1, "supervise_unanswered": 1, "supervise_repeated": 1},
     {"department_id": D1}, (NODE_CODES["handle"], 300)),
    ("督办 before dispatch: the centre's urging, no 督办单", INTAKE[:2] + [
        E("supervise", 15, LEADER, "accepted", supervision_id=None)],
     [R("accept", 30, 10), R("file", 50)],
     {"reported": 1, "accept_due": 1, "accepted": 1, "accepted_on_time": 1, "file_due": 1, "supervised": 1},
     {}, (NODE_CODES["file"], 50)),
]


@pytest.mark.parametrize("name, events, runs, expected, objects, running", CASES, ids=[c[0] for c in CASES])
def test_counters(name, events, runs, expected, objects, running):
    stats = derive(Facts(7, "inspector", "341122100001001", len(events)), events, runs, CAL)
    assert stats.counters == {k: v for k, v in expected.items() if v}
    for key, value in objects.items():
        assert stats.objects[key] == value, key
    node, minute = running
    assert (stats.open_node, stats.pending_at) == (node, t(minute) if minute is not None else None)


@pytest.mark.parametrize("name, counters, expected", [
    ("check_send_on_time_rate", {"check_sent_on_time": 8, "check_send_due": 10}, 0.8),
    ("check_send_on_time_rate", {"accepted": 5}, None),  # auto mode: nothing to send by hand
    ("supervise_unanswered_rate", {"supervise_unanswered": 1, "supervision_ordered": 4}, 0.25),
    ("supervise_repeat_rate", {"supervise_repeated": 2, "handle_due": 40}, 0.05),
    ("overtime_close_rate", {"closed_overtime": 3, "close_due": 12}, 0.25),
])
def test_rates(name, counters, expected):
    got = rate(RATES[name], counters)
    assert (got is None) if expected is None else got == pytest.approx(expected)


OPERATOR = {"accept_due": 600, "accepted": 600, "accepted_on_time": 570, "verify_sent": 10, "verify_sent_on_time": 9}


@pytest.mark.parametrize("mode, counters, parts, value", [
    # standards.md §6.2 受理员: 受理数分值×25% + 核实按时派发率×40% + 核查按时派发率×35%; 600 accepted → band 75
    ("operator sends: 8 of 10 on time", OPERATOR | {"check_send_due": 10, "check_sent_on_time": 8},
     {"accepted_score": 75.0, "verify_send_on_time_rate": 90.0, "check_send_on_time_rate": 80.0},
     (75 * 25 + 90 * 40 + 80 * 35) / 100),
    ("the platform sends (auto): on time by construction", OPERATOR,
     {"accepted_score": 75.0, "verify_send_on_time_rate": 90.0, "check_send_on_time_rate": 100.0},
     (75 * 25 + 90 * 40 + 100 * 35) / 100),
])
def test_operator_formula(mode, counters, parts, value):
    got, got_parts = score("operator", counters, engine.rates_of("operator", counters), make_config())
    assert got_parts == parts
    assert got == pytest.approx(value, abs=0.005)


def test_supervision_figures_weigh_only_when_a_method_says_so():
    counters = {"filed": 60, "handle_due": 60, "handled": 58, "handled_on_time": 54, "close_due": 60, "closed": 57,
                "reworked": 6, "supervision_ordered": 10, "supervise_unanswered": 5}
    rates = engine.rates_of("department", counters)
    base, parts = score("department", counters, rates, make_config())
    assert "supervise_unanswered_rate" not in parts  # default weight 0: the reference names no such indicator
    cfg = make_config(weights={"department": {"supervise_unanswered_rate": 10}})
    value, parts = score("department", counters, rates, cfg)
    assert parts["supervise_unanswered_rate"] == 50.0
    assert value == pytest.approx((base * 100 + 50 * 10) / 110, abs=0.01)
