"""A generated month (`cityloop simulate history`) replayed: the assessment's figures equal an independent count
made here straight from the raw tables (cases, case_nodes, case_events), without the assessment's code."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime

from sqlalchemy import select

from cityloop.assessment import service
from cityloop.assessment.periods import parse_period
from cityloop.assessment.simulate import history
from cityloop.cases.models import Case, CaseEvent, CaseNode


def independent(session, start: datetime, end: datetime, now: datetime) -> dict[str, Counter]:
    """Department, dispatcher and district figures of the cases whose governing deadline is in [start, end)."""
    nodes = defaultdict(list)
    for n in session.scalars(select(CaseNode).order_by(CaseNode.id)):
        nodes[n.case_id].append(n)
    first_dispatcher = {}
    for case_id, actor in session.execute(select(CaseEvent.case_id, CaseEvent.actor_id)
                                          .where(CaseEvent.action == "dispatch").order_by(CaseEvent.seq.desc())):
        first_dispatcher[case_id] = actor  # the last write is the first dispatch
    out = {"department": Counter(), "dispatcher": Counter(), "district": Counter()}
    for case in session.scalars(select(Case)):
        runs = nodes[case.id]
        dispatches = [n for n in runs if n.node == "dispatch"]
        phase = [n for n in runs if n.node == "handle" and dispatches and n.id > dispatches[-1].id]
        counted = bool(phase) and case.stage != "void"
        deadline = phase[0].due_at if counted else runs[-1].due_at
        if not start <= deadline < end:
            continue
        out["district"]["reported"] += 1
        if dispatches:
            first = dispatches[0]
            waiting = first.ended_at is None and first.due_at > now
            voided = first.ended_at is not None and not any(n.node == "handle" for n in runs)
            if not waiting and not voided:
                key = first_dispatcher.get(case.id)
                out["dispatcher"][(key, "dispatch_due")] += 1
                if any(n.node == "handle" for n in runs):
                    out["dispatcher"][(key, "dispatched")] += 1
                    out["dispatcher"][(key, "dispatched_on_time")] += bool(first.on_time)
        if not counted:
            continue
        handled = case.stage in ("handled", "checked", "closed")
        running = phase[-1].ended_at is None
        if running and (case.stage == "suspended" or phase[-1].due_at > now):
            continue  # not due yet (or paused): not counted
        dept = case.department_id
        figures = {"handle_due": 1, "handled": handled,
                   "handled_on_time": handled and all(n.on_time for n in phase if n.ended_at is not None),
                   "closed": case.stage == "closed", "reworked": case.rework_count > 0,
                   "overdue_open": not handled}
        for name, value in figures.items():
            out["department"][(dept, name)] += int(value)
            out["district"][name] += int(value)
    return out


def test_a_generated_month_replays_to_the_same_figures(session, settings, clock):
    now = clock.now()
    made = history(session, settings, now, months=1, per_day=5, seed=7)
    assert made > 50
    for key in ("2026-10", "2026-11"):
        period = parse_period(key)
        start, end = period.bounds(clock.now().tzinfo)
        expected = independent(session, start, end, now)
        rows, cases = service.compute(session, settings, period, ["department", "dispatcher", "district"], now)
        assert cases == expected["district"]["reported"] > 0
        got = Counter()
        for row in rows["department"]:
            for name in ("handle_due", "handled", "handled_on_time", "closed", "reworked", "overdue_open"):
                got[(row["object_id"], name)] += row["counters"][name]
        assert +got == +expected["department"], key
        got = Counter()
        for row in rows["dispatcher"]:
            for name in ("dispatch_due", "dispatched", "dispatched_on_time"):
                got[(row["object_id"], name)] += row["counters"][name]
        assert +got == +expected["dispatcher"], key
        district = rows["district"][0]["counters"]
        for name in ("reported", "handle_due", "handled", "handled_on_time", "closed", "reworked", "overdue_open"):
            assert district[name] == expected["district"][name], (key, name)
    november = expected["department"]
    assert sum(v for (_, n), v in november.items() if n == "handle_due") > 10  # a real month, not an empty one
