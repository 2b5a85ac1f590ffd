"""Cases the platform opens, notes and withdraws by itself: sensor alarms, truck violations, camera captures.

Such a case is reported, accepted and filed by the system actor in one transaction and dispatched when the
responsible unit is known, so it enters the loop already counting the handling time; every step is an event,
exactly as if people had taken it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.cases import actions, intake
from cityloop.cases.domain import TERMINAL
from cityloop.cases.intake import Locate
from cityloop.cases.models import Case
from cityloop.catalog.models import FilingCondition
from cityloop.cases.schemas import ActionIn, ReportIn, ReportSource
from cityloop.cases.service import Ctx
from cityloop.config import Settings
from cityloop.org.actor import SYSTEM_ACTOR
from cityloop.org.models import Department
from cityloop.geo.coords import to_wgs84
from cityloop.shared.errors import AppError, Invalid
from cityloop.sla.domain import WorkCalendar


def open_case(session: Session, settings: Settings, cal: WorkCalendar, now: datetime, locate: Locate, *,
              source: ReportSource, category_code: str, lon: float, lat: float, description: str,
              address: str | None = None, component_id: str | None = None, department_code: str | None = None,
              condition_code: str | None = None, urgent: bool | None = None, evidence: dict[str, Any] | None = None,
              key: str | None = None, required_due_at: datetime | None = None) -> Case:
    """Report, accept, file and (with a known department, or a routing suggestion) dispatch a case as the system.

    `evidence` goes into the report event's payload; `key` makes the call idempotent (a replay returns the case).
    A refusal raises its AppError and leaves nothing of the case. Never commits: the caller's use case commits once."""
    (result,) = open_cases(session, settings, cal, now, locate, [NewCase(
        source=source, category_code=category_code, lon=lon, lat=lat, description=description, address=address,
        component_id=component_id, department_code=department_code, condition_code=condition_code, urgent=urgent,
        evidence=evidence, key=key, required_due_at=required_due_at)])
    if isinstance(result, AppError):
        raise result
    return result


@dataclass(frozen=True)
class NewCase:
    """One case for open_cases(): the arguments open_case() takes after its keyword star."""

    source: ReportSource
    category_code: str
    lon: float
    lat: float
    description: str
    address: str | None = None
    component_id: str | None = None
    department_code: str | None = None
    condition_code: str | None = None
    urgent: bool | None = None
    evidence: dict[str, Any] | None = None
    key: str | None = None
    required_due_at: datetime | None = None

    def body(self) -> ReportIn:
        """The report as intake checks it."""
        return ReportIn(category_code=self.category_code, lon=self.lon, lat=self.lat, description=self.description,
                        address=self.address, component_id=self.component_id, source=self.source)


def open_cases(session: Session, settings: Settings, cal: WorkCalendar, now: datetime, locate: Locate,
               wanted: Sequence[NewCase]) -> list[Case | AppError]:
    """open_case() for many cases at once, in order (numbers as consecutive calls would give them): every report
    is prepared first, all are written by one intake.write, then accepted, filed and dispatched a step at a time
    for all of them. Returns each one's case, or the AppError that kept it from opening (nothing of it written).
    Never commits."""
    ctx = Ctx(session, settings, cal, now, SYSTEM_ACTOR)
    results: list[Case | AppError | None] = [None] * len(wanted)
    keys = sorted({w.key for w in wanted if w.key})
    taken = set(session.scalars(select(Case.idempotency_key).where(Case.idempotency_key.in_(keys)))) if keys else set()
    todo: list[tuple[int, intake.Prepared, NewCase]] = []
    first: dict[str, int] = {}  # key -> position in todo of the first report under it in this call
    alias: dict[int, int] = {}  # a repeated key's report -> position in todo of the first one
    for i, w in enumerate(wanted):
        body = w.body()
        try:
            if w.key and w.key in taken:  # a replay: the case made earlier (or a 422 for a different body)
                results[i] = intake.find_by_key(ctx.reads, w.key, intake.request_hash(body, ctx.photos))
                continue
            if w.key and w.key in first:
                if todo[first[w.key]][1].case["request_hash"] != intake.request_hash(body, ctx.photos):
                    raise _key_reused()
                alias[i] = first[w.key]
                continue
            prepared = intake.prepare(ctx, body, locate, to_wgs84, None, verify=False,
                                      required_due_at=w.required_due_at)
            assert not isinstance(prepared, Case)  # without a key there is no replay
        except AppError as exc:
            results[i] = exc
            continue
        if w.key:  # (neither column is part of the state digest prepare computed)
            prepared.case |= {"idempotency_key": w.key, "request_hash": intake.request_hash(body, ctx.photos)}
            first[w.key] = len(todo)
        if w.evidence:
            prepared.event["payload"] = {**prepared.event["payload"], "evidence": w.evidence}
        todo.append((i, prepared, w))
    run: list[tuple[int, intake.Prepared, NewCase]] = []
    refused = _foreseen_refusals(session, todo)
    for pos, item in enumerate(todo):
        if pos in refused:  # alone, as open_case would try it (on PostgreSQL its number is used up as then)
            _open_run(ctx, run, results)
            _open_run(ctx, [item], results)
            run = []
        else:
            run.append(item)
    _open_run(ctx, run, results)
    for i, t in alias.items():
        results[i] = results[todo[t][0]]
    out: list[Case | AppError] = []
    for r in results:
        assert r is not None  # every report has its case or its error by now
        out.append(r)
    return out


def _open_run(ctx: Ctx, run: list[tuple[int, intake.Prepared, NewCase]],
              results: list[Case | AppError | None]) -> None:
    """Write and route these prepared reports together; if a step refuses one, each on its own."""
    if not run:
        return
    try:
        with ctx.session.begin_nested():
            opened = _write_and_route(ctx, [p for _, p, _ in run], [w for _, _, w in run])
        for (i, _, _), case in zip(run, opened):
            results[i] = case
    except AppError as exc:
        _forget(ctx.session)
        if len(run) == 1:
            results[run[0][0]] = exc
            return
        for i, p, w in run:
            try:
                with ctx.session.begin_nested():
                    results[i] = _write_and_route(ctx, [p], [w])[0]
            except AppError as one:
                _forget(ctx.session)
                results[i] = one


def _forget(session: Session) -> None:
    # A rolled-back case's row is gone but its object stays in the identity map, and SQLite gives its id to the
    # next case written: reload everything (all was flushed when the savepoint began, so nothing is lost).
    session.expire_all()


def _foreseen_refusals(session: Session, todo: list[tuple[int, intake.Prepared, NewCase]]) -> set[int]:
    """Positions in todo that filing or dispatch will refuse (no filing condition, an unknown condition or
    department), found with two queries, so the others are still written together."""
    if not todo:
        return set()
    codes = {w.department_code for _, _, w in todo if w.department_code}
    active = set(session.scalars(select(Department.code).where(Department.code.in_(codes),
                                                               Department.active.is_(True)))) if codes else set()
    conditions: dict[int, set[str]] = {}
    for category_id, code in session.execute(select(FilingCondition.category_id, FilingCondition.code).where(
            FilingCondition.category_id.in_({p.case["category_id"] for _, p, _ in todo}))):
        conditions.setdefault(category_id, set()).add(code)
    return {pos for pos, (_, p, w) in enumerate(todo)
            if (w.department_code and w.department_code not in active) or p.case["category_id"] not in conditions
            or (w.condition_code and w.condition_code not in conditions[p.case["category_id"]])}


def _key_reused() -> AppError:
    return Invalid("idempotency-key-reused", "该 Idempotency-Key 已用于另一份不同的上报",
                   "This Idempotency-Key was already used with a different request body")


def _write_and_route(ctx: Ctx, prepared: list[intake.Prepared], wanted: list[NewCase]) -> list[Case]:
    # Each step reads only its own case's rows and reference data (accepted without 核实, dispatched without
    # helpers or a saved rule), so the session need not flush before every read of a step.
    ids = [c.id for c in intake.write(ctx.session, prepared, ctx.settings)]
    actions.apply_many(ctx, [(i, "accept", ActionIn()) for i in ids], own_rows_only=True)
    cases = actions.apply_many(ctx, [(i, "file", ActionIn(condition_code=w.condition_code, urgent=w.urgent))
                                     for i, w in zip(ids, wanted)], own_rows_only=True)
    actions.apply_many(ctx, [(c.id, "dispatch", ActionIn(department_code=w.department_code))
                             for c, w in zip(cases, wanted) if w.department_code or c.suggested_department_id],
                       own_rows_only=True)
    return cases


def note(session: Session, settings: Settings, cal: WorkCalendar, now: datetime, case_id: int, text: str,
         payload: dict[str, Any] | None = None) -> Case:
    """Add a system note (备注) to a case's history, e.g. 'the alarm cleared at 14:05'."""
    ctx = Ctx(session, settings, cal, now, SYSTEM_ACTOR)
    case = actions.apply_in_transaction(ctx, case_id, "annotate", ActionIn(note=text), extra=payload)
    return case


def withdraw(session: Session, settings: Settings, cal: WorkCalendar, now: datetime, case_id: int, reason: str,
             payload: dict[str, Any] | None = None) -> Case:
    """Void (作废) a case the platform opened whose cause fell away, e.g. a violation cancelled on appeal; a case
    already finished only gets the reason as a note."""
    case = session.get(Case, case_id)
    if case is None or case.stage in TERMINAL:
        return note(session, settings, cal, now, case_id, reason, payload)
    ctx = Ctx(session, settings, cal, now, SYSTEM_ACTOR)
    case = actions.apply_in_transaction(ctx, case_id, "void", ActionIn(note=reason), extra=payload)
    return case
