"""Deadline preview and the calendar."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query
from pydantic import BaseModel

from cityloop.audit import service as audit
from cityloop.deps import ActorDep, AdminDep, ClockDep, SessionDep, SettingsDep, StateDep
from cityloop.shared.errors import Invalid, NotFound
from cityloop.sla import service
from cityloop.sla.domain import LimitError, due_at, limit_minutes, parse_limit
from cityloop.shared.fields import Flag, Instant

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
    is_workday: Flag
    note: str | None = None


@router.get("/preview", response_model=PreviewOut)
def preview(start: Instant = Query(..., description="ISO 8601 with offset, e.g. 2026-09-30T17:00:00+08:00"),
            limit: str = Query(..., description="30m / 4h / 2d"), urgent: bool = False,
            *, session: SessionDep, settings: SettingsDep, _: ActorDep) -> PreviewOut:
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
def put_override(day: date, body: OverrideIn, session: SessionDep, clock: ClockDep, state: StateDep,
                 actor: AdminDep) -> OverrideIn:
    """设置工作日/休息日 / Override the statutory calendar for one date."""
    if body.day != day:
        raise Invalid("day-mismatch", "路径与请求体中的日期不一致", "The date in the path and the body differ")
    audit.record(session, actor, "calendar.set", day.isoformat(), body.model_dump(mode="json"), clock.now())
    row = service.set_override(session, day, body.is_workday, body.note)
    state.changes.announce("calendar")  # every host's deadlines use it at once
    return OverrideIn(day=row.day, is_workday=row.is_workday, note=row.note)


@router.get("/calendar", response_model=list[OverrideIn])
def list_overrides(session: SessionDep, _: ActorDep,
                   year: int | None = Query(None, ge=2000, le=2100)) -> list[OverrideIn]:
    """本地调整的工作日/休息日 / The local overrides of the statutory calendar."""
    return [OverrideIn(day=r.day, is_workday=r.is_workday, note=r.note) for r in service.overrides(session, year)]


@router.delete("/calendar/{day}", status_code=204)
def delete_override(day: date, session: SessionDep, clock: ClockDep, state: StateDep,
                    actor: AdminDep) -> None:
    """取消本地调整 / Fall back to the statutory calendar for one date."""
    audit.record(session, actor, "calendar.remove", day.isoformat(), {}, clock.now())
    if not service.remove_override(session, day):
        raise NotFound("no-override", "该日期没有本地调整", "No local override for this date")
    state.changes.announce("calendar")
