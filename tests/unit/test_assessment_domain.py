"""Per-case counters from hand-written histories: every path a case can take, counted by hand."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from cityloop.assessment.domain import Ev, Facts, Run, derive, pair_runs
from cityloop.assessment.figures import NODE_CODES, pack, unpack
from cityloop.sla.domain import WorkCalendar

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=SH)  # Monday, a working day
OP, LEAD, DISP, INSP, INSP2, STAFF, D1, D2 = 11, 12, 13, 14, 15, 50, 101, 102
CAL = WorkCalendar()


def t(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def E(action: str, minute: float, actor: int | None, to: str, **payload) -> Ev:
    return Ev(action, actor, t(minute), to, payload)


def R(node: str, due: float, end: float | None = None, dept: int | None = None, limit: int = 60,
      urgent: bool = False) -> Run:
    return Run(node, t(due), t(end) if end is not None else None, None if end is None else end <= due, dept, limit,
               0, urgent)


# An inspector's report accepted, filed and dispatched to D1, every step in time.
INTAKE = [E("report", 0, INSP, "reported"), E("accept", 10, OP, "accepted"), E("file", 20, LEAD, "filed"),
          E("dispatch", 25, DISP, "dispatched", department_id=D1)]
INTAKE_RUNS = [R("accept", 30, 10), R("file", 50, 20), R("dispatch", 55, 25)]
BASE = {"reported": 1, "accept_due": 1, "accepted": 1, "accepted_on_time": 1, "file_due": 1, "filed": 1,
        "filed_on_time": 1, "accurate_filed": 1, "dispatch_due": 1, "dispatched": 1, "dispatched_on_time": 1}
DONE = {"valid_reported": 1, "accurate_dispatched": 1, "handle_due": 1, "close_due": 1, "handled": 1,
        "check_due": 1, "checked": 1, "checked_on_time": 1, "lead_close_due": 1, "lead_closed": 1,
        "lead_closed_on_time": 1, "closed": 1}
CLOSE_OK = [E("handle", 200, STAFF, "handled"), E("check_ok", 230, INSP, "checked"), E("close", 240, LEAD, "closed")]
CLOSE_RUNS = [R("check", 260, 230), R("close", 270, 240)]

CASES = [
    # name, source, events, runs, expected counters, expected objects (subset), (open node, pending minute)
    ("whole loop in time", "inspector", INTAKE + CLOSE_OK, INTAKE_RUNS + [R("handle", 300, 200, D1)] + CLOSE_RUNS,
     BASE | DONE | {"handled_on_time": 1, "closed_on_time": 1},
     {"reporter_id": INSP, "operator_id": OP, "filer_id": LEAD, "dispatcher_id": DISP, "department_id": D1,
      "checker_id": INSP, "closer_id": LEAD}, (0, None)),
    ("handled 90 min late on a 60 min urgent limit", "inspector", INTAKE + [
        E("handle", 390, STAFF, "handled"), E("check_ok", 400, INSP, "checked"), E("close", 410, LEAD, "closed")],
     INTAKE_RUNS + [R("handle", 300, 390, D1, urgent=True), R("check", 460, 400), R("close", 470, 410)],
     BASE | DONE | {"handled_overtime": 1, "overtime_multiple": 2, "closed_overtime": 1}, {"department_id": D1},
     (0, None)),
    ("late by 120 working minutes overnight (17:00 → next day 09:00)", "inspector", INTAKE + CLOSE_OK[:1],
     INTAKE_RUNS + [R("handle", 480, 1440, D1), R("check", 1500)],
     BASE | {"valid_reported": 1, "accurate_dispatched": 1, "handle_due": 1, "close_due": 1, "handled": 1,
             "handled_overtime": 1, "overtime_multiple": 2, "check_due": 1},
     {"department_id": D1}, (NODE_CODES["check"], 1500)),
    ("one rework, then done in time", "inspector", INTAKE + [
        E("handle", 100, STAFF, "handled"), E("check_fail", 120, INSP, "dispatched"),
        E("handle", 200, STAFF, "handled"), E("check_ok", 230, INSP, "checked"), E("close", 240, LEAD, "closed")],
     INTAKE_RUNS + [R("handle", 300, 100, D1), R("check", 160, 120), R("handle", 400, 200, D1)] + CLOSE_RUNS,
     BASE | DONE | {"accurate_dispatched": 0, "handled_on_time": 1, "closed_on_time": 1, "reworks": 1,
                    "reworked": 1, "check_due": 2, "checked": 2, "checked_on_time": 2}, {"department_id": D1},
     (0, None)),
    ("two reworks, the last handling late", "inspector", INTAKE + [
        E("handle", 100, STAFF, "handled"), E("check_fail", 120, INSP, "dispatched"),
        E("handle", 200, STAFF, "handled"), E("check_fail", 210, INSP2, "dispatched"),
        E("handle", 600, STAFF, "handled")],
     INTAKE_RUNS + [R("handle", 300, 100, D1), R("check", 160, 120), R("handle", 400, 200, D1),
                    R("check", 260, 210), R("handle", 570, 600, D1, urgent=True), R("check", 700)],
     BASE | {"valid_reported": 1, "handle_due": 1, "close_due": 1, "handled": 1, "handled_overtime": 1,
             "overtime_multiple": 1, "reworks": 2, "reworked": 1, "check_due": 3, "checked": 2, "checked_on_time": 2},
     {"checker_id": INSP2}, (NODE_CODES["check"], 700)),
    ("returned by D1, sent to D2 (wrong dispatch)", "inspector", INTAKE + [
        E("request_return", 40, STAFF, "dispatched", request="return"),
        E("approve", 50, DISP, "filed", request="return", approved=True),
        E("dispatch", 60, 99, "dispatched", department_id=D2, wrong_dispatch=True)] + CLOSE_OK,
     INTAKE_RUNS + [R("handle", 300, 50, D1), R("dispatch", 80, 60), R("handle", 320, 200, D2)] + CLOSE_RUNS,
     BASE | DONE | {"accurate_dispatched": 0, "wrong_dispatch": 1, "returns": 1, "handled_on_time": 1,
                    "closed_on_time": 1},
     {"department_id": D2, "return_department_id": D1, "dispatcher_id": DISP}, (0, None)),
    ("returned, waiting to be dispatched again", "inspector", INTAKE + [
        E("request_return", 40, STAFF, "dispatched", request="return"),
        E("approve", 50, DISP, "filed", request="return", approved=True)],
     INTAKE_RUNS + [R("handle", 300, 50, D1), R("dispatch", 80)],
     BASE | {"valid_reported": 1, "accurate_dispatched": 1, "returns": 1},
     {"department_id": None, "return_department_id": D1}, (0, None)),
    ("extension approved, handled before the new deadline", "inspector", INTAKE + [
        E("request_extension", 40, STAFF, "dispatched", request="extension"),
        E("deny", 45, DISP, "dispatched", request="extension", approved=False),
        E("request_extension", 50, STAFF, "dispatched", request="extension"),
        E("approve", 55, DISP, "dispatched", request="extension", approved=True)] + CLOSE_OK,
     INTAKE_RUNS + [R("handle", 800, 200, D1)] + CLOSE_RUNS,
     BASE | DONE | {"handled_on_time": 1, "closed_on_time": 1, "extensions": 1}, {"department_id": D1}, (0, None)),
    ("suspended (挂账) now", "inspector", INTAKE + [
        E("request_suspension", 40, STAFF, "dispatched", request="suspension"),
        E("approve", 50, DISP, "suspended", request="suspension", approved=True)],
     INTAKE_RUNS + [R("handle", 300, None, D1)],
     BASE | {"valid_reported": 1, "accurate_dispatched": 1, "handle_due": 1, "close_due": 1, "suspended": 1,
             "suspensions": 1}, {"department_id": D1}, (NODE_CODES["handle"], 300)),
    ("suspended, resumed, handled", "inspector", INTAKE + [
        E("request_suspension", 40, STAFF, "dispatched", request="suspension"),
        E("approve", 50, DISP, "suspended", request="suspension", approved=True),
        E("resume", 150, DISP, "dispatched")] + CLOSE_OK,
     INTAKE_RUNS + [R("handle", 400, 200, D1)] + CLOSE_RUNS,
     BASE | DONE | {"handled_on_time": 1, "closed_on_time": 1, "suspensions": 1}, {"department_id": D1}, (0, None)),
    ("voided (作废) after filing, before dispatch", "inspector", INTAKE[:3] + [E("void", 30, LEAD, "void")],
     INTAKE_RUNS[:2] + [R("dispatch", 55, 30)],
     {"reported": 1, "accept_due": 1, "accepted": 1, "accepted_on_time": 1, "file_due": 1, "filed": 1,
      "filed_on_time": 1, "voided": 1}, {"filer_id": LEAD, "dispatcher_id": None}, (0, None)),
    ("voided while being handled", "inspector", INTAKE + [E("void", 100, LEAD, "void")],
     INTAKE_RUNS + [R("handle", 300, 100, D1)],
     BASE | {"accurate_filed": 0, "voided": 1, "accurate_dispatched": 1}, {"department_id": None}, (0, None)),
    ("rejected at intake (不予受理)", "public", [E("report", 0, OP, "reported"), E("reject", 40, OP, "rejected")],
     [R("accept", 30, 40)], {"reported": 1, "accept_due": 1, "accepted": 1, "not_accepted": 1},
     {"reporter_id": None, "operator_id": OP}, (0, None)),
    ("merged duplicate", "hotline", [E("report", 0, OP, "reported"), E("merge", 5, OP, "merged")],
     [R("accept", 30, 5)], {"reported": 1, "accept_due": 1, "accepted": 1, "accepted_on_time": 1, "merged": 1},
     {"operator_id": OP}, (0, None)),
    ("self-handled by the inspector", "inspector", [E("report", 0, INSP, "reported"),
                                                    E("self_close", 5, OP, "closed")],
     [R("accept", 30, 5)], {"reported": 1, "valid_reported": 1, "accept_due": 1, "accepted": 1,
                            "accepted_on_time": 1, "self_closed": 1}, {"reporter_id": INSP}, (0, None)),
    ("public report verified false", "public", [E("report", 0, OP, "reported"), E("accept", 10, OP, "verifying"),
                                               E("verify_fail", 100, INSP2, "rejected")],
     [R("accept", 30, 10), R("verify", 70, 100)],
     {"reported": 1, "accept_due": 1, "accepted": 1, "accepted_on_time": 1, "verify_sent": 1,
      "verify_sent_on_time": 1, "verify_due": 1, "verified": 1, "verified_false": 1}, {"verifier_id": INSP2},
     (0, None)),
    ("public report verified true, handling overdue and open", "public", [
        E("report", 0, OP, "reported"), E("accept", 10, OP, "verifying"), E("verify_ok", 40, INSP2, "accepted"),
        E("file", 50, LEAD, "filed"), E("dispatch", 55, DISP, "dispatched", department_id=D1),
        E("auto_supervise", 400, None, "dispatched")],
     [R("accept", 30, 10), R("verify", 70, 40), R("file", 80, 50), R("dispatch", 90, 55), R("handle", 300, None, D1)],
     BASE | {"verify_sent": 1, "verify_sent_on_time": 1, "verify_due": 1, "verified": 1, "verified_on_time": 1,
             "public_verified": 1, "valid_reported": 1, "accurate_dispatched": 1, "handle_due": 1, "close_due": 1,
             "supervised": 1},
     {"verifier_id": INSP2, "department_id": D1, "reporter_id": None}, (NODE_CODES["handle"], 300)),
    ("refused (不予立案) late", "inspector", [E("report", 0, INSP, "reported"), E("accept", 10, OP, "accepted"),
                                           E("refuse", 90, LEAD, "rejected")],
     [R("accept", 30, 10), R("file", 40, 90)],
     {"reported": 1, "accept_due": 1, "accepted": 1, "accepted_on_time": 1, "file_due": 1, "refused": 1},
     {"filer_id": LEAD}, (0, None)),
    ("waiting for 核实 by the task's inspector", "hotline", [E("report", 0, OP, "reported"),
                                                          E("accept", 50, OP, "verifying")],
     [R("accept", 30, 50), R("verify", 110)],
     {"reported": 1, "accept_due": 1, "accepted": 1, "verify_sent": 1, "verify_due": 1},
     {"verifier_id": INSP2, "operator_id": OP}, (NODE_CODES["verify"], 110)),
    ("closed and rated 不满意", "inspector", INTAKE + CLOSE_OK + [E("rate", 300, None, "closed", rating="不满意")],
     INTAKE_RUNS + [R("handle", 300, 200, D1)] + CLOSE_RUNS,
     BASE | DONE | {"handled_on_time": 1, "closed_on_time": 1, "rated": 1, "dissatisfied": 1}, {}, (0, None)),
    ("closed and rated 基本满意, supervised once", "inspector",
     INTAKE + [E("supervise", 60, 77, "dispatched")] + CLOSE_OK + [E("rate", 300, None, "closed", rating="基本满意")],
     INTAKE_RUNS + [R("handle", 300, 200, D1)] + CLOSE_RUNS,
     BASE | DONE | {"handled_on_time": 1, "closed_on_time": 1, "rated": 1, "satisfied": 1, "supervised": 1}, {},
     (0, None)),
    ("waiting at 受理 past its deadline", "inspector", [E("report", 0, INSP, "reported")], [R("accept", 30)],
     {"reported": 1, "accept_due": 1}, {"operator_id": None}, (NODE_CODES["accept"], 30)),
]


@pytest.mark.parametrize("name, source, events, runs, expected, objects, running", CASES, ids=[c[0] for c in CASES])
def test_counters(name, source, events, runs, expected, objects, running):
    facts = Facts(7, source, "341122100001001", len(events), {"verify": INSP2})
    stats = derive(facts, events, runs, CAL)
    assert stats.counters == {k: v for k, v in expected.items() if v}
    for key, value in objects.items():
        assert stats.objects[key] == value, key
    assert stats.objects["grid"] == 341122100001001
    node, minute = running
    assert (stats.open_node, stats.pending_at) == (node, t(minute) if minute is not None else None)


def test_the_period_is_set_by_the_handling_deadline_else_the_last_node():
    whole = derive(Facts(1, "inspector", "341122100001001", 7), INTAKE + CLOSE_OK,
                   INTAKE_RUNS + [R("handle", 300, 200, D1)] + CLOSE_RUNS, CAL)
    assert whole.assess_at == t(300)  # 应处置: the handling deadline, not the later check or close
    returned = derive(Facts(1, "inspector", "341122100001001", 7), INTAKE + [
        E("approve", 50, DISP, "filed", request="return", approved=True),
        E("dispatch", 60, DISP, "dispatched", department_id=D2)],
        INTAKE_RUNS + [R("handle", 300, 50, D1), R("dispatch", 80, 60), R("handle", 900, None, D2)], CAL)
    assert returned.assess_at == t(900)  # the department it went to in the end
    refused = derive(Facts(1, "inspector", "341122100001001", 3), [
        E("report", 0, INSP, "reported"), E("accept", 10, OP, "accepted"), E("refuse", 20, LEAD, "rejected")],
        [R("accept", 30, 10), R("file", 40, 20)], CAL)
    assert refused.assess_at == t(40)


def test_runs_pair_with_the_events_that_ended_and_started_them():
    events = INTAKE + [E("request_extension", 40, STAFF, "dispatched", request="extension"),
                       E("approve", 41, DISP, "dispatched", request="extension", approved=True)] + CLOSE_OK
    ended, started = pair_runs(events, INTAKE_RUNS + [R("handle", 300, 200, D1)] + CLOSE_RUNS)
    assert ended == {0: 1, 1: 2, 2: 3, 3: 6, 4: 7, 5: 8}
    assert started == {0: 0, 1: 1, 2: 2, 3: 3, 4: 6, 5: 7}


@pytest.mark.parametrize("counters", [
    {}, {"reported": 1, "supervised": 1}, {"reworks": 3, "overtime_multiple": 900, "open_node": 5},
    {"reported": 1, "handled_on_time": 1, "check_due": 63, "checked_on_time": 5},
])
def test_packing_round_trips(counters):
    flags, counts = pack(counters)
    assert 0 <= flags < 2**63 and 0 <= counts < 2**63
    assert unpack(flags, counts) == counters


def test_packed_counts_saturate():
    assert unpack(*pack({"reworks": 500}))["reworks"] == 63
    with pytest.raises(KeyError):
        pack({"nonsense": 1})
