"""Scheduled job: mark overdue nodes and record automatic 督办 reminders (run by one process at a time)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from cityloop.cases import service as svc
from cityloop.cases.models import Case, CaseNode
from cityloop.config import Settings
from cityloop.org.actor import SYSTEM_ACTOR
from cityloop.shared.singleton import only_one
from cityloop.sla.service import calendar
from cityloop.state import AppState

BATCH = 500


def sweep(session: Session, settings: Settings, now: datetime) -> int:
    """Mark every newly overdue running node; each gets one automatic supervision event. Returns the count."""
    marked = 0
    from cityloop.cases.practice import mark_overdue_supervisions

    while mark_overdue_supervisions(svc.Ctx(session, settings, calendar(session, settings), now, SYSTEM_ACTOR)):
        session.commit()  # each unanswered 督办单 once: a 督办单超期未回复 event on its case
    while True:
        cases = list(session.scalars(
            select(Case).where(Case.node_due_at < now, Case.overdue.is_(False), Case.stage != "suspended",
                               Case.node.is_not(None)).order_by(Case.id).limit(BATCH).with_for_update()))
        if not cases:
            return marked
        ctx = svc.Ctx(session, settings, calendar(session, settings), now, SYSTEM_ACTOR)
        for case in cases:
            node = svc.open_node(session, case)
            if node is not None:
                node.overdue_marked_at = now
            case.overdue = True
            case.supervise_count += 1
            due = case.node_due_at
            assert due is not None  # selected by node_due_at < now
            svc.record(ctx, case, "auto_supervise", case.stage,
                       {"node": case.node, "due_at": due.isoformat(), "reason": "超时自动督办"})
        session.commit()
        marked += len(cases)


def overdue_nodes(session: Session) -> list[CaseNode]:
    """Running nodes already marked overdue."""
    return list(session.scalars(select(CaseNode).where(CaseNode.ended_at.is_(None),
                                                       CaseNode.overdue_marked_at.is_not(None))))


def sweep_once(engine: Engine, factory: sessionmaker[Session], settings: Settings, now: datetime) -> int | None:
    """One sweep if no other process is sweeping (advisory lock / file lock); None when another holds it."""
    with only_one(engine, "sla-sweep") as mine:
        if not mine:
            return None
        with factory() as session:
            return sweep(session, settings, now)


async def sweep_forever(state: AppState) -> None:
    """The server's overdue sweeper: every worker tries each interval, one of them sweeps."""
    import asyncio
    import logging

    from asyncio import to_thread

    while True:
        await asyncio.sleep(state.settings.sweep_interval_seconds)
        try:
            await to_thread(sweep_once, state.engine, state.session_factory, state.settings,
                                    state.clock.now())
        except Exception:  # noqa: BLE001 - a failed sweep is retried next interval, never kills the server
            logging.getLogger("cityloop.sweep").exception("overdue sweep failed")


# Started by the server for the life of each worker (see app.lifespan).
SERVER_TASKS = (sweep_forever,)
