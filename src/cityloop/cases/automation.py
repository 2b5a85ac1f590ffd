"""Cases the platform opens, notes and withdraws by itself: sensor alarms, truck violations, camera captures.

Such a case is reported, accepted and filed by the system actor in one transaction and dispatched when the
responsible unit is known, so it enters the loop already counting the handling time; every step is an event,
exactly as if people had taken it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from cityloop.cases import actions, intake
from cityloop.cases.domain import TERMINAL
from cityloop.cases.intake import Locate
from cityloop.cases.models import Case
from cityloop.cases.schemas import ActionIn, ReportIn, ReportSource
from cityloop.cases.service import Ctx
from cityloop.config import Settings
from cityloop.org.actor import SYSTEM_ACTOR
from cityloop.geo.coords import to_wgs84
from cityloop.sla.domain import WorkCalendar


def open_case(session: Session, settings: Settings, cal: WorkCalendar, now: datetime, locate: Locate, *,
              source: ReportSource, category_code: str, lon: float, lat: float, description: str,
              address: str | None = None, component_id: str | None = None, department_code: str | None = None,
              condition_code: str | None = None, urgent: bool | None = None, evidence: dict[str, Any] | None = None,
              key: str | None = None, required_due_at: datetime | None = None) -> Case:
    """Report, accept, file and (with a known department, or a routing suggestion) dispatch a case as the system.

    `evidence` goes into the report event's payload; `key` makes the call idempotent (a replay returns the case).
    Never commits: the caller's use case commits once."""
    ctx = Ctx(session, settings, cal, now, SYSTEM_ACTOR)
    body = ReportIn(category_code=category_code, lon=lon, lat=lat, description=description, address=address,
                    component_id=component_id, source=source)
    prepared = intake.prepare(ctx, body, locate, to_wgs84, key, verify=False, required_due_at=required_due_at)
    if isinstance(prepared, Case):
        return prepared
    if evidence:
        prepared.event["payload"] = {**prepared.event["payload"], "evidence": evidence}
    case_id = intake.write(session, [prepared], settings)[0].id
    apply = actions.apply_in_transaction
    apply(ctx, case_id, "accept", ActionIn())
    case = apply(ctx, case_id, "file", ActionIn(condition_code=condition_code, urgent=urgent))
    if department_code or case.suggested_department_id:
        case = apply(ctx, case_id, "dispatch", ActionIn(department_code=department_code))
    return case


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
