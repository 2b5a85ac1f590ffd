"""A case's assessment counters (统计信息), derived only from its history (pure): its events in order, its node
runs with their stored deadlines, and who holds its open 核实/核查 task. Never typed in by hand.

Every event that moves a case ends the running node and starts the next one, so the i-th such event is paired with
the i-th node run; the counters then read what ended each run, when, and by whom. Definitions: docs/assessment.md."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cityloop.assessment.figures import NODE_CODES
from cityloop.cases.api import NODE_OF_STAGE
from cityloop.sla.domain import WorkCalendar

# Actions that end the running node (approve does so only for an approved return).
MOVES = frozenset({"accept", "reject", "merge", "self_close", "verify_ok", "verify_fail", "file", "refuse",
                   "dispatch", "handle", "check_ok", "check_fail", "close", "void", "send_back_to_lead",
                   "send_back_to_operator", "send_check"})
SENT_BACK = frozenset({"send_back_to_lead", "send_back_to_operator"})
SATISFIED = frozenset({"满意", "基本满意"})


@dataclass(frozen=True)
class Ev:
    """One event of the case (case_events)."""

    action: str
    actor_id: int | None
    at: datetime
    to_stage: str
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Run:
    """One run of a node (case_nodes), in the order the runs were started."""

    node: str
    due_at: datetime
    ended_at: datetime | None = None
    on_time: bool | None = None
    department_id: int | None = None
    limit_minutes: int = 0
    extended_minutes: int = 0
    urgent: bool = False


@dataclass(frozen=True)
class Facts:
    """What the events do not repeat: where the case is and who holds its open inspector tasks."""

    case_id: int
    source: str
    grid_code: str
    last_seq: int
    open_tasks: dict[str, int | None] = field(default_factory=dict)  # verify/check -> assignee


@dataclass
class CaseStats:
    """The projection row of one case: the period it counts in, the objects it counts for and its counters."""

    case_id: int
    last_seq: int
    assess_at: datetime  # the deadline that places the case in a period (应处置, else its last node's)
    pending_at: datetime | None  # deadline of a counted running node (None: nothing running; see figures.PENDING)
    suspended: bool
    open_node: int
    objects: dict[str, int | None]
    counters: dict[str, int]


def moves(event: Ev) -> bool:
    """Whether this event ends the running node."""
    if event.action == "approve":
        return event.payload.get("request") == "return" and bool(event.payload.get("approved"))
    return event.action in MOVES


def pair_runs(events: list[Ev], runs: list[Run]) -> tuple[dict[int, int], dict[int, int]]:
    """(run index -> index of the event that ended it, run index -> index of the event that started it)."""
    ended: dict[int, int] = {}
    started: dict[int, int] = {0: 0} if runs else {}
    current: int | None = 0 if runs else None
    following = 1
    for i, event in enumerate(events):
        if not moves(event):
            continue
        if current is not None and current < len(runs):
            ended[current] = i
        if event.to_stage in NODE_OF_STAGE and following < len(runs):
            current, following = following, following + 1
            started[current] = i
        else:
            current = None
    return ended, started


def derive(facts: Facts, events: list[Ev], runs: list[Run], cal: WorkCalendar) -> CaseStats:
    """The counters of one case from its history (see docs/assessment.md for every definition)."""
    ended, started = pair_runs(events, runs)
    ender = {r: events[i] for r, i in ended.items()}
    c: dict[str, int] = {"reported": 1}
    who: dict[str, int | None] = dict.fromkeys(("department_id", "return_department_id", "reporter_id",
                                                "operator_id", "verifier_id", "filer_id", "dispatcher_id",
                                                "checker_id", "closer_id"))
    stage = events[-1].to_stage if events else "reported"
    voided = stage == "void"
    actions = [e.action for e in events]
    if facts.source == "inspector" and events:
        who["reporter_id"] = events[0].actor_id

    def first(node: str) -> int | None:  # a run sent back to the node before it is redone, and not judged
        return next((i for i, r in enumerate(runs) if r.node == node
                     and (ender.get(i) is None or ender[i].action not in SENT_BACK)), None)

    def done(i: int | None, *names: str) -> Ev | None:
        e = ender.get(i) if i is not None else None
        return e if e is not None and e.action in names else None

    def due(i: int | None) -> bool:  # a node ended by 作废 was never due
        return i is not None and (ender.get(i) is None or ender[i].action != "void")

    # 受理 (operator)
    acc = first("accept")
    c["accept_due"] = due(acc)
    if acc is not None and (e := done(acc, "accept", "reject", "merge", "self_close")):
        on = bool(runs[acc].on_time)
        who["operator_id"] = e.actor_id
        c |= {"accepted": 1, "accepted_on_time": on, "not_accepted": e.action == "reject",
              "merged": e.action == "merge", "self_closed": e.action == "self_close"}
        if e.action == "accept" and e.to_stage == "verifying":
            c |= {"verify_sent": 1, "verify_sent_on_time": on}
    # 核实 (inspector of the duty grid)
    ver = first("verify")
    c["verify_due"] = due(ver)
    if ver is not None and (e := done(ver, "verify_ok", "verify_fail")):
        who["verifier_id"] = e.actor_id
        c |= {"verified": 1, "verified_on_time": bool(runs[ver].on_time), "verified_false": e.action == "verify_fail",
              "public_verified": e.action == "verify_ok"}
    elif ver is not None and ver not in ended:
        who["verifier_id"] = facts.open_tasks.get("verify")
    # 立案 (shift lead)
    fil = first("file")
    c["file_due"] = due(fil)
    if fil is not None and (e := done(fil, "file", "refuse")):
        who["filer_id"] = e.actor_id
        filed = e.action == "file"
        c |= {"filed": filed, "filed_on_time": filed and bool(runs[fil].on_time), "refused": not filed,
              "voided": filed and voided, "accurate_filed": filed and not voided}
    # 派遣 (dispatcher): the first dispatch is judged; a later one to another department marks it wrong
    reworks_total = actions.count("check_fail")
    dis = first("dispatch")
    c["dispatch_due"] = due(dis)
    wrong = any(e.action == "dispatch" and e.payload.get("wrong_dispatch") for e in events)
    if dis is not None and (e := done(dis, "dispatch")):
        who["dispatcher_id"] = e.actor_id
        c |= {"dispatched": 1, "dispatched_on_time": bool(runs[dis].on_time), "wrong_dispatch": wrong,
              "accurate_dispatched": not wrong and not reworks_total}
    c["valid_reported"] = (bool(c.get("dispatched")) or bool(c.get("self_closed"))) and not voided
    # 处置 (department): the runs since the last dispatch, unless an approved return or 作废 ended them
    phase = _handling_phase(events, runs, ender, started)
    _returns(c, who, events, runs, ender)
    if phase and not voided:
        _handling(c, who, phase, events, runs, ender, stage, cal)
    # 核查 (inspector) and 结案 (shift lead)
    _sending(c, runs, ender, due)
    checks = [i for i, r in enumerate(runs) if r.node == "check" and due(i)]
    check_enders = [(i, ender[i]) for i in checks if i in ender]
    c |= {"check_due": len(checks), "checked": len(check_enders),
          "checked_on_time": sum(bool(runs[i].on_time) for i, _ in check_enders)}
    if check_enders:
        who["checker_id"] = check_enders[-1][1].actor_id
    elif checks:
        who["checker_id"] = facts.open_tasks.get("check")
    clo = first("close")
    c["lead_close_due"] = due(clo)
    if clo is not None and (e := done(clo, "close")):
        who["closer_id"] = e.actor_id
        c |= {"lead_closed": 1, "lead_closed_on_time": bool(runs[clo].on_time)}
    rating = next((e.payload.get("rating") for e in events if e.action == "rate"), None)
    if rating:
        c |= {"rated": 1, "satisfied": rating in SATISFIED, "dissatisfied": rating not in SATISFIED}
    c["supervised"] = any(a in ("supervise", "auto_supervise") for a in actions)
    _supervision(c, events)
    c |= {"sent_back_to_lead": "send_back_to_lead" in actions, "sent_back_to_operator": "send_back_to_operator" in actions}
    open_node, pending_at = _running(runs, ended, phase, dis)
    assess_at = runs[phase[0]].due_at if phase and not voided else (runs[-1].due_at if runs else events[0].at)
    return CaseStats(facts.case_id, facts.last_seq, assess_at, pending_at, stage == "suspended", open_node,
                     who | {"grid": int(facts.grid_code) if facts.grid_code.isdigit() else 0}, {k: int(v) for k, v in c.items() if v})


def _handling_phase(events: list[Ev], runs: list[Run], ender: dict[int, Ev], started: dict[int, int]) -> list[int]:
    """Handle runs of the department the case was last dispatched to; empty once a return was approved."""
    last = max((i for i, e in enumerate(events) if e.action == "dispatch"), default=None)
    if last is None:
        return []
    phase = [r for r, s in started.items() if runs[r].node == "handle" and s >= last]
    phase.sort()
    if phase and ender.get(phase[-1]) is not None and ender[phase[-1]].action == "approve":
        return []
    return phase


def _handling(c: dict[str, int], who: dict[str, int | None], phase: list[int], events: list[Ev], runs: list[Run],
              ender: dict[int, Ev], stage: str, cal: WorkCalendar) -> None:
    later = events[max(i for i, e in enumerate(events) if e.action == "dispatch"):]
    handled_runs = [r for r in phase if ender.get(r) is not None and ender[r].action == "handle"]
    late = [r for r in handled_runs if not runs[r].on_time]
    handled = phase[-1] in handled_runs
    on_time = handled and not late
    closed = stage == "closed"
    closing = next((e for e in reversed(events) if e.action == "close"), None)
    kind = closing.payload.get("close_type") if closing is not None else None  # 结案类型, when recorded
    who["department_id"] = runs[phase[0]].department_id
    c |= {"handle_due": 1, "close_due": 1, "handled": handled, "handled_on_time": on_time,
          "handled_overtime": handled and bool(late), "overtime_multiple": sum(_multiple(runs[r], cal) for r in late),
          "reworks": sum(e.action == "check_fail" for e in later),
          "extensions": sum(e.action == "approve" and e.payload.get("request") == "extension" for e in later),
          "suspensions": sum(e.action == "approve" and e.payload.get("request") == "suspension" for e in later),
          "suspended": stage == "suspended", "closed": closed, "closed_on_time": closed and on_time,
          "closed_overtime": closed and not on_time}
    if closed and kind:
        c |= {"closed_on_time": kind == "normal", "closed_overtime": kind == "overtime",
              "closed_special": kind == "special"}
    c["reworked"] = c["reworks"] > 0


def _sending(c: dict[str, int], runs: list[Run], ender: dict[int, Ev], due: Callable[[int | None], bool]) -> None:
    """发核查 by the 受理员 (operator mode): due when a send_check run was due; on time when every sending was."""
    sends = [i for i, r in enumerate(runs) if r.node == "send_check" and due(i)]
    sent = [i for i in sends if ender.get(i) is not None and ender[i].action == "send_check"]
    c |= {"check_send_due": bool(sends), "check_sent": bool(sent),
          "check_sent_on_time": bool(sent) and all(runs[i].on_time for i in sent)}


def _supervision(c: dict[str, int], events: list[Ev]) -> None:
    """督办单: issued, answered late or not at all (the sweep's supervise_overdue or a late reply), repeated."""
    orders = [e for e in events if e.action == "supervise" and e.payload.get("supervision_id")]
    c |= {"supervision_ordered": bool(orders),
          "supervise_unanswered": any(e.action == "supervise_overdue" or (
              e.action == "supervise_reply" and e.payload.get("on_time") is False) for e in events),
          "supervise_repeated": any(e.payload.get("repeat", 1) > 1 for e in orders)}


def _returns(c: dict[str, int], who: dict[str, int | None], events: list[Ev], runs: list[Run],
             ender: dict[int, Ev]) -> None:
    """Approved returns (回退) count for the department that returned the case (the last one that did)."""
    by_dept = [runs[r].department_id for r, e in ender.items() if e.action == "approve"]
    if by_dept:
        who["return_department_id"] = by_dept[-1]
        c["returns"] = by_dept.count(by_dept[-1])


def _multiple(run: Run, cal: WorkCalendar) -> int:
    """超时倍数 of a late run: overrun over the limit (with extensions), rounded up, at least 1."""
    if run.ended_at is None:
        return 0
    if run.urgent:
        over = (run.ended_at - run.due_at).total_seconds() / 60
    else:
        over = cal.between(run.due_at, run.ended_at)
    limit = max(1, run.limit_minutes + run.extended_minutes)
    return max(1, math.ceil(over / limit))


def _running(runs: list[Run], ended: dict[int, int], phase: list[int],
             first_dispatch: int | None) -> tuple[int, datetime | None]:
    """The running node whose deadline the counters wait for, and that deadline."""
    if not runs or (len(runs) - 1) in ended or runs[-1].ended_at is not None:
        return 0, None
    i, run = len(runs) - 1, runs[-1]
    counted = run.node != "dispatch" or i == first_dispatch
    if run.node == "handle":
        counted = i in phase
    return (NODE_CODES[run.node], run.due_at) if counted else (0, None)
