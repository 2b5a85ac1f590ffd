"""Server tasks: the delivery worker (every worker process on PostgreSQL, one on SQLite) and the near-due sweep
(80 % of a handling node's time used; once per case node, one process at a time)."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from asyncio import to_thread
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.cases.api import Case
from cityloop.config import Settings
from cityloop.notify import worker as delivery
from cityloop.notify.case_hooks import case_params
from cityloop.notify.service import Recipients, publish
from cityloop.shared.singleton import only_one
from cityloop.sla.domain import elapsed_fraction
from cityloop.sla.service import calendar
from cityloop.state import AppState

log = logging.getLogger("cityloop.notify")
NEAR_DUE = 0.8


def near_due_sweep(session: Session, settings: Settings, now: datetime) -> int:
    """Publish near_due for every case being handled that has used 80 % of its node's time; returns how many such
    cases there are (the dedupe key makes a case node's notice once, however many sweeps see it)."""
    cal = calendar(session, settings)
    cases = session.scalars(select(Case).where(Case.stage == "dispatched", Case.overdue.is_(False),
                                               Case.node_due_at > now, Case.department_id.is_not(None))
                            .order_by(Case.id))
    count = 0
    for case in cases:
        started, due, department = case.node_started_at, case.node_due_at, case.department_id
        if started is None or due is None or department is None:  # the query asks for a due date and a department
            continue
        if elapsed_fraction(cal, started, due, now, case.node_urgent) < NEAR_DUE:
            continue
        key = f"near_due:{case.id}:{case.node}:{started.isoformat()}"
        publish(session, "near_due", case_params(session, case),
                Recipients(departments=[department], roles=["department"]),
                event_key=key, link=f"/console/cases/{case.id}", now=now)
        count += 1
    session.commit()
    return count


def _sweep_once(state: AppState) -> None:
    with only_one(state.engine, "notify-near-due") as mine:
        if mine:
            with state.session_factory() as session:
                near_due_sweep(session, state.settings, state.clock.now())


async def near_due_forever(state: AppState) -> None:
    """Every sweep_interval_seconds, one process looks for nodes at 80 %."""
    while True:
        await asyncio.sleep(state.settings.sweep_interval_seconds)
        try:
            await to_thread(_sweep_once, state)
        except Exception:  # noqa: BLE001 - retried next interval
            log.exception("near-due sweep failed")


async def _deliver_rounds(state: AppState) -> None:
    worker = delivery.Worker(state.session_factory, state.settings)
    try:
        while True:  # one round at a time in a thread: a cancelled task stops between rounds
            try:
                handled = await to_thread(worker.run_once)
            except Exception:  # noqa: BLE001 - a database hiccup: try again next round
                log.exception("notification delivery round failed")
                handled = 0
            if not handled:
                await asyncio.sleep(state.settings.notify_interval_seconds)
    finally:
        worker.close()


async def deliver_forever(state: AppState) -> None:
    """The outbox delivery worker for the life of the server: every worker process on PostgreSQL (SKIP LOCKED),
    one process at a time on SQLite (the others wait to take over)."""
    if state.engine.dialect.name == "postgresql":
        await _deliver_rounds(state)
        return
    while True:
        with only_one(state.engine, "notify-delivery") as mine:
            if mine:
                await _deliver_rounds(state)
        await asyncio.sleep(5)


# Started by the server for the life of each worker (see app.lifespan).
SERVER_TASKS = (deliver_forever, near_due_forever)
