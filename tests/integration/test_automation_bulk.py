"""open_cases() leaves exactly what consecutive open_case() calls (each in its savepoint) leave: case numbers,
stages, nodes, events, notifications; a refused report is that report's error, the others open."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from cityloop.cases import automation
from cityloop.cases.automation import NewCase
from cityloop.cases.models import Case, CaseEvent, CaseNode
from cityloop.geo.queries import build_index
from cityloop.notify.models import OutboxMessage
from cityloop.shared.errors import AppError
from cityloop.sla.service import calendar


def _snapshot(session) -> dict:
    numbers = dict(session.execute(select(Case.id, Case.number)).all())
    return {
        "cases": [(c.number, c.category_code, c.stage, c.urgent, c.department_id, c.node, c.node_due_at,
                   c.idempotency_key, c.event_hash, c.filing_condition_id, c.suggested_department_id)
                  for c in session.scalars(select(Case).order_by(Case.number))],
        "events": [(numbers[e.case_id], e.seq, e.action, e.actor_role, e.from_stage, e.to_stage, e.payload)
                   for e in session.scalars(select(CaseEvent).order_by(CaseEvent.case_id, CaseEvent.seq))],
        "nodes": [(numbers[n.case_id], n.node, n.limit_minutes, n.due_at, n.ended_at, n.department_id)
                  for n in session.scalars(select(CaseNode).order_by(CaseNode.case_id, CaseNode.id))],
        "notifications": sorted((m.event_kind, m.address, m.title, m.body) for m in session.scalars(
            select(OutboxMessage))),
    }


def _outcome(result: Case | AppError) -> tuple:
    return ("error", result.code) if isinstance(result, AppError) else ("case", result.number, result.stage)


CASES = {  # name -> (grid, open_case arguments); "dup" repeats "pipe", "reuse" its key with another description
    "cover": ("341122100001002", dict(department_code="d03", condition_code="01", urgent=True, key="sensor:a:1",
                                      evidence={"tilt_deg": 35.0})),
    "spill": ("341122100001001", dict(category_code="06010", source="fleet", description="渣土车遗撒")),
    "pipe": ("341122100001003", dict(department_code="d01", key="sensor:b:1")),
    "nocat": ("341122100001002", dict(category_code="99999", key="sensor:c:1")),
    "dup": ("341122100001003", dict(department_code="d01", key="sensor:b:1", description="pipe")),
    "reuse": ("341122100001003", dict(department_code="d01", key="sensor:b:1")),
    "nodept": ("341122100001004", dict(department_code="zz9")),
    "nocond": ("341122100001004", dict(department_code="d01", condition_code="zz")),
}


@pytest.mark.parametrize("names, foresee", [
    (("cover", "spill", "pipe"), True),
    (("cover", "nocat", "spill"), True),  # a report prepare refuses
    (("cover", "pipe", "dup", "reuse", "spill"), True),  # a key twice in one call
    (("cover", "nodept", "spill", "nocond"), True),  # steps refuse (unknown department, condition)
    (("cover", "nodept", "spill"), False),  # a refusal not foreseen: each then on its own
])
def test_open_cases_is_open_case_in_a_row(names, foresee, session, settings, clock, world, monkeypatch):
    locate, cal, now = build_index(session).locate, calendar(session, settings), clock.now()

    def wanted(name: str) -> dict:
        grid, kw = CASES[name]
        lon, lat = world.point(grid)
        return {"source": "sensor", "category_code": "01001", "lon": lon, "lat": lat, "description": name, **kw}

    outer = session.begin_nested()
    one_by_one = []
    for name in names:
        try:
            with session.begin_nested():
                one_by_one.append(automation.open_case(session, settings, cal, now, locate, **wanted(name)))
        except AppError as exc:
            one_by_one.append(exc)
    session.flush()
    single = ([_outcome(r) for r in one_by_one], _snapshot(session))
    outer.rollback()

    if not foresee:
        monkeypatch.setattr(automation, "_foreseen_refusals", lambda *args: set())
    outer = session.begin_nested()
    results = automation.open_cases(session, settings, cal, now, locate, [NewCase(**wanted(n)) for n in names])
    session.flush()
    bulk = ([_outcome(r) for r in results], _snapshot(session))
    outer.rollback()
    assert bulk == single
    assert any(o[0] == "case" for o in bulk[0])


def test_cases_after_a_refused_one_still_open(session, settings, clock, world):
    """(One open_case after another that a step refused can find the refused case's object where SQLite reuses its
    id; open_cases reloads after a refusal.)"""
    locate, cal, now = build_index(session).locate, calendar(session, settings), clock.now()
    wanted = []
    for name in ("nocond", "pipe", "nodept", "cover"):
        grid, kw = CASES[name]
        lon, lat = world.point(grid)
        wanted.append(NewCase(**{"source": "sensor", "category_code": "01001", "lon": lon, "lat": lat,
                                 "description": name, **kw}))
    results = automation.open_cases(session, settings, cal, now, locate, wanted)
    assert [_outcome(r)[:2] for r in results] == [("error", "unknown-condition"), ("case", "LA2026112300001"),
                                                  ("error", "unknown-department"), ("case", "LA2026112300002")]
