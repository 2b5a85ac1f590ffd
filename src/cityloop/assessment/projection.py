"""Keep the projection current: re-derive every case that has events the projection has not seen yet.

The event log is read after the last event id seen, minus a margin: on PostgreSQL a transaction can commit an
event with a lower id after a higher one, so a recent window is looked at again and any case whose stored
last_seq differs from its event count is re-derived. Cases are processed in batches, one commit per batch."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from cityloop.assessment import store
from cityloop.assessment.domain import derive
from cityloop.assessment.models import AssessState, CaseStat
from cityloop.cases.api import Case, CaseEvent
from cityloop.config import Settings
from cityloop.sla.service import calendar

BATCH = 500
MARGIN = 5000  # event ids looked at again on every refresh (late commits on PostgreSQL)


def _state(session: Session) -> AssessState:
    state = session.get(AssessState, 1)
    if state is None:
        state = AssessState(id=1, last_event_id=0)
        session.add(state)
        session.flush()
    return state


def derive_cases(session: Session, settings: Settings, case_ids: list[int]) -> list[dict[str, Any]]:
    """Projection rows of these cases, derived from their histories (no write)."""
    cal = calendar(session, settings)
    rows = []
    for facts, events, runs, extra in store.histories(session, case_ids):
        if events:
            rows.append(store.row_of(derive(facts, events, runs, cal), facts.source, extra["category_code"],
                                     extra["created_at"]))
    return rows


def _stale(session: Session, since: int) -> list[int]:
    """Cases with events after `since` whose stored row is missing or older than their last event."""
    recent = (select(CaseEvent.case_id, func.max(CaseEvent.seq).label("seq"))
              .where(CaseEvent.id > since).group_by(CaseEvent.case_id).subquery())
    stmt = (select(recent.c.case_id).outerjoin(CaseStat, CaseStat.case_id == recent.c.case_id)
            .where((CaseStat.case_id.is_(None)) | (CaseStat.last_seq < recent.c.seq)).order_by(recent.c.case_id))
    return list(session.scalars(stmt))


def refresh(session: Session, settings: Settings, now: datetime, rebuild: bool = False,
            progress: Callable[[int], None] | None = None) -> int:
    """Bring the projection up to the event log (from scratch with rebuild); returns how many cases changed."""
    state = _state(session)
    head = session.scalar(select(func.max(CaseEvent.id))) or 0
    if rebuild:
        session.execute(delete(CaseStat))
        state.last_event_id = 0
        todo = list(session.scalars(select(Case.id).order_by(Case.id)))
    elif head <= state.last_event_id:
        return 0
    else:
        todo = _stale(session, max(0, state.last_event_id - MARGIN))
    done = 0
    for i in range(0, len(todo), BATCH):
        ids = todo[i:i + BATCH]
        store.replace(session, derive_cases(session, settings, ids))
        done += len(ids)
        session.commit()
        if progress:
            progress(done)
    state = _state(session)
    state.last_event_id, state.refreshed_at = head, now
    session.commit()
    return done
