"""督办单 and 协办 lists: GET /api/v1/supervisions, /api/v1/assists, /api/v1/assists/figures."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.orm import Session

from cityloop.state import app_state
from cityloop.deps import current_actor, get_session
from cityloop.org.actor import Actor
from cityloop.shared.fields import Instant
from cityloop.supervision import service
from cityloop.supervision.schemas import AssistOut, FiguresOut, SupervisionOut

router = APIRouter(prefix="/api/v1", tags=["supervision 督办与协办"])


@router.get("/supervisions", response_model=list[SupervisionOut])
def supervisions(request: Request, department: str | None = Query(None, max_length=32),
                 status: Literal["open", "replied", "closed"] | None = None, overdue: bool = False,
                 session: Session = Depends(get_session), actor: Actor = Depends(current_actor)) -> list[dict]:
    """督办单 / Supervision orders (a department sees its own); overdue=true: unanswered past the deadline."""
    now: datetime = app_state(request.app).clock.now()
    return service.supervisions(session, actor, now, department, status, overdue)


@router.get("/assists", response_model=list[AssistOut])
def assists(request: Request, department: str | None = Query(None, max_length=32),
            status: Literal["open", "done", "lapsed", "cancelled"] | None = None,
            case_id: int | None = Query(None, ge=1, le=2**31 - 1, alias="case"),
            session: Session = Depends(get_session), actor: Actor = Depends(current_actor)) -> list[dict]:
    """协办任务 / Helper tasks (a department sees those given to it; the lead department its case's helpers)."""
    return service.assists(session, actor, app_state(request.app).clock.now(), department, status, case_id)


@router.get("/assists/figures", response_model=list[FiguresOut])
def figures(request: Request, start: Instant = Query(...), end: Instant = Query(...),
            session: Session = Depends(get_session), actor: Actor = Depends(current_actor)) -> list[dict]:
    """协办与督办单统计 / Per department: helper tasks and supervision orders of a period (deployment figures)."""
    return service.figures(session, actor, app_state(request.app).clock.now(), start, end)
