"""`cityloop simulate history`: months of believable case history driven through the real workflow (the demo's
generator), then the overdue sweep and the assessment projection, so every figure can be replayed from events."""

from __future__ import annotations

import calendar as _calendar
from collections.abc import Callable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityloop.assessment import projection
from cityloop.config import Settings
from cityloop.org.models import Department, User
from cityloop.shared.errors import Invalid


def months_ago(today: date, months: int) -> date:
    """The same day `months` calendar months earlier (clamped to the month's last day)."""
    y, m = divmod(today.year * 12 + today.month - 1 - months, 12)
    return date(y, m + 1, min(today.day, _calendar.monthrange(y, m + 1)[1]))


def history(session: Session, settings: Settings, now: datetime, months: int, per_day: int, seed: int,
            progress: Callable[[int, int], None] | None = None) -> int:
    """Generate `months` of history ending now on a database with the demo county (built first when empty);
    returns how many cases were made."""
    from cityloop.cases.api import sweep
    from cityloop.demo import county
    from cityloop.demo.history import generate
    from cityloop.geo.coords import to_wgs84
    from cityloop.geo.queries import build_index

    if not session.scalar(select(func.count(Department.id))):
        county.build_base(session, settings, now)
    if session.scalar(select(User.id).where(User.username == "operator1")) is None:
        raise Invalid("no-demo-staff", "数据库中没有演示县的工作人员（operator1、lead1 …），无法模拟历史",
                      "The database lacks the demo county's staff (operator1, lead1, …) the simulator acts as")
    today = now.astimezone(ZoneInfo(settings.timezone)).date()
    days = (today - months_ago(today, months)).days
    index = build_index(session)
    made = generate(session, settings, county.places(session), now, days, per_day, index.locate, to_wgs84,
                    components=county.components_by_type(session), seed=seed, progress=progress)
    sweep(session, settings, now)
    projection.refresh(session, settings, now)
    return made
