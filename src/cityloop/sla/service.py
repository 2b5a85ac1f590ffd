"""The working calendar of this deployment: statutory calendar + the override table, cached briefly."""

from __future__ import annotations

import threading
import time as _time
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cityloop.config import Settings
from cityloop.sla.domain import WorkCalendar, parse_periods
from cityloop.sla.models import CalendarOverride

_CACHE_SECONDS = 30.0
_lock = threading.Lock()
_cache: dict[tuple[str, tuple[str, ...], str], tuple[float, WorkCalendar]] = {}


def _cached(settings: Settings) -> tuple[tuple[str, tuple[str, ...], str], float, WorkCalendar | None]:
    key = (settings.database_url, tuple(settings.work_periods), settings.timezone)
    now = _time.monotonic()
    with _lock:
        hit = _cache.get(key)
    return key, now, hit[1] if hit and now - hit[0] < _CACHE_SECONDS else None


def calendar(session: Session, settings: Settings) -> WorkCalendar:
    """The calendar with overrides from the database (re-read at most every 30 s, and after set_override)."""
    key, now, cal = _cached(settings)
    if cal is not None:
        return cal
    overrides = {o.day: o.is_workday for o in session.scalars(select(CalendarOverride))}
    cal = WorkCalendar(periods=parse_periods(settings.work_periods), overrides=overrides,
                       tz=ZoneInfo(settings.timezone))
    with _lock:
        _cache[key] = (now, cal)
    return cal


def work_calendar(reads: sessionmaker[Session], settings: Settings) -> WorkCalendar:
    """calendar(), opening a read session only when the cached one has to be re-read."""
    cal = _cached(settings)[2]
    if cal is not None:
        return cal
    with reads() as session:
        return calendar(session, settings)


def invalidate() -> None:
    """Forget cached calendars (after an override changes)."""
    with _lock:
        _cache.clear()


def set_override(session: Session, day: date, is_workday: bool, note: str | None = None) -> CalendarOverride:
    """Declare a local working day or day off, overriding the statutory calendar."""
    row = session.get(CalendarOverride, day) or CalendarOverride(day=day)
    row.is_workday, row.note = is_workday, note
    session.add(row)
    session.commit()
    invalidate()
    return row


def overrides(session: Session, year: int | None = None) -> list[CalendarOverride]:
    """Local calendar overrides, by date."""
    stmt = select(CalendarOverride).order_by(CalendarOverride.day)
    if year:
        stmt = stmt.where(CalendarOverride.day >= date(year, 1, 1), CalendarOverride.day <= date(year, 12, 31))
    return list(session.scalars(stmt))


def remove_override(session: Session, day: date) -> bool:
    """Drop the override of one date; False when there was none."""
    row = session.get(CalendarOverride, day)
    if row is None:
        return False
    session.delete(row)
    session.commit()
    invalidate()
    return True
