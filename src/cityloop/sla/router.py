"""Deadline preview and the calendar."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime, BaseModel
from sqlalchemy.orm import Session

from cityloop.deps import Actor, current_actor, get_session, get_settings_dep, require_roles
from cityloop.shared.errors import Invalid
from cityloop.sla import service
from cityloop.sla.domain import LimitError, due_at, limit_minutes, parse_limit

router = APIRouter(prefix="/api/v1/sla", tags=["sla 时限"])


class PreviewOut(BaseModel):
    start: datetime
    limit: str
    urgent: bool
    limit_minutes: int
    due_at: datetime
    working_minutes: float


class OverrideIn(BaseModel):
    day: date
    is_workday: bool
    note: str | None = None


@router.get("/preview", response_model=PreviewOut)
def preview(start: AwareDatetime = Query(..., description="ISO 8601 with offset, e.g. 2026-09-30T17:00:00+08:00"),
            limit: str = Query(..., description="30m / 4h / 2d"), urgent: bool = False,
            session: Session = Depends(get_session), settings=Depends(get_settings_dep),
            _: Actor = Depends(current_actor)):
    """时限预览 / Deadline preview: when a limit that starts now runs out (working time unless urgent)."""
    cal = service.calendar(session, settings)
    try:
        value, unit = parse_limit(limit)
        minutes = limit_minutes(value, unit, urgent, cal.day_minutes)
        due = due_at(cal, start, minutes, urgent)
    except (LimitError, OverflowError) as exc:
        raise Invalid("bad-limit", str(exc), str(exc)) from exc
    tz = ZoneInfo(settings.timezone)
    return PreviewOut(start=start.astimezone(tz), limit=limit, urgent=urgent, limit_minutes=minutes,
                      due_at=due.astimezone(tz), working_minutes=cal.between(start, due))


@router.put("/calendar/{day}", response_model=OverrideIn)
def put_override(day: date, body: OverrideIn, session: Session = Depends(get_session),
                 _: Actor = Depends(require_roles("admin"))):
    """设置工作日/休息日 / Override the statutory calendar for one date."""
    if body.day != day:
        raise Invalid("day-mismatch", "路径与请求体中的日期不一致", "The date in the path and the body differ")
    row = service.set_override(session, day, body.is_workday, body.note)
    return OverrideIn(day=row.day, is_workday=row.is_workday, note=row.note)
