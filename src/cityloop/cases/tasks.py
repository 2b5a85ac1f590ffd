"""Scheduled job: mark overdue nodes and record automatic 督办 reminders (run by one process at a time)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.cases import service as svc
from cityloop.cases.models import Case, CaseNode
from cityloop.config import Settings
from cityloop.deps import SYSTEM_ACTOR
from cityloop.sla.service import calendar

BATCH = 500


def sweep(session: Session, settings: Settings, now: datetime) -> int:
    """Mark every newly overdue running node; each gets one automatic supervision event. Returns the count."""
    marked = 0
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
            svc.record(ctx, case, "auto_supervise", case.stage,
                       {"node": case.node, "due_at": case.node_due_at.isoformat(), "reason": "超时自动督办"})
        session.commit()
        marked += len(cases)


def overdue_nodes(session: Session) -> list[CaseNode]:
    """Running nodes already marked overdue."""
    return list(session.scalars(select(CaseNode).where(CaseNode.ended_at.is_(None),
                                                       CaseNode.overdue_marked_at.is_not(None))))
