"""督办单 and 协办 lists: GET /api/v1/supervisions, /api/v1/assists, /api/v1/assists/figures."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Query

from cityloop.deps import ActorDep, ClockDep, SessionDep
from cityloop.shared.fields import Instant
from cityloop.supervision import service
from cityloop.supervision.schemas import AssistOut, FiguresOut, SupervisionOut

router = APIRouter(prefix="/api/v1", tags=["supervision 督办与协办"])


@router.get("/supervisions", response_model=list[SupervisionOut])
def supervisions(clock: ClockDep, session: SessionDep, actor: ActorDep, department: str | None = Query(None, max_length=32),
                 status: Literal["open", "replied", "closed"] | None = None,
                 overdue: bool = False) -> list[dict[str, Any]]:
    """督办单 / Supervision orders (a department sees its own); overdue=true: unanswered past the deadline."""
    now: datetime = clock.now()
    return service.supervisions(session, actor, now, department, status, overdue)


@router.get("/assists", response_model=list[AssistOut])
def assists(clock: ClockDep, session: SessionDep, actor: ActorDep, department: str | None = Query(None, max_length=32),
            status: Literal["open", "done", "lapsed", "cancelled"] | None = None,
            case_id: int | None = Query(None, ge=1, le=2**31 - 1, alias="case")) -> list[dict[str, Any]]:
    """协办任务 / Helper tasks (a department sees those given to it; the lead department its case's helpers)."""
    return service.assists(session, actor, clock.now(), department, status, case_id)


@router.get("/assists/figures", response_model=list[FiguresOut])
def figures(clock: ClockDep, session: SessionDep, actor: ActorDep, start: Instant = Query(...),
            end: Instant = Query(...)) -> list[dict[str, Any]]:
    """协办与督办单统计 / Per department: helper tasks and supervision orders of a period (deployment figures)."""
    return service.figures(session, actor, clock.now(), start, end)
