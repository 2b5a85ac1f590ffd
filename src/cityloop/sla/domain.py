"""Working-time arithmetic (pure): deadlines, elapsed fractions and traffic lights.

Working time is a set of daily periods (08:00–12:00, 14:00–18:00 by default) on working days of the Chinese
statutory calendar with 调休 make-up days, overridable per date. 紧急 limits count continuous time.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Literal
from zoneinfo import ZoneInfo

import chinese_calendar

WORKDAY_MINUTES_DEFAULT = 480
MAX_DAYS = 3660  # a deadline further than ten years away is a configuration error

_LIMIT_RE = re.compile(r"^\s*(\d{1,5})\s*([mhd])\s*$", re.IGNORECASE)


class LimitError(ValueError):
    """A limit string or calendar configuration that cannot be used."""


def statutory_is_workday(day: date) -> bool:
    """Working day per the State Council calendar (holidays, 调休); weekdays outside its years."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return day.weekday() < 5


def parse_periods(texts: list[str]) -> tuple[tuple[time, time], ...]:
    """Parse ["08:00-12:00", "14:00-18:00"] into ordered, non-overlapping periods."""
    periods = []
    for text in texts:
        try:
            a, b = (time.fromisoformat(p.strip()) for p in text.split("-"))
        except ValueError as exc:
            raise LimitError(f"bad working period {text!r}") from exc
        if a >= b:
            raise LimitError(f"working period {text!r} ends before it starts")
        periods.append((a, b))
    periods.sort()
    for (_, end), (start, _) in zip(periods, periods[1:]):
        if start < end:
            raise LimitError("working periods overlap")
    if not periods:
        raise LimitError("no working periods")
    return tuple(periods)


@dataclass(frozen=True)
class WorkCalendar:
    """Working periods per day and which days are working days, in a local time zone."""

    periods: tuple[tuple[time, time], ...] = ((time(8), time(12)), (time(14), time(18)))
    overrides: Mapping[date, bool] = field(default_factory=dict)
    tz: ZoneInfo = ZoneInfo("Asia/Shanghai")
    base: Callable[[date], bool] = statutory_is_workday
    # Answers of `base` already asked (the statutory calendar is slow to ask; lists ask it for every day of every
    # open node). Not part of the value: equal calendars compare equal whatever they have looked up.
    _known: dict[date, bool] = field(default_factory=dict, compare=False, repr=False, hash=False)

    @property
    def day_minutes(self) -> int:
        return sum(_minutes(a, b) for a, b in self.periods)

    def is_workday(self, day: date) -> bool:
        """Override first, then the statutory calendar."""
        if day in self.overrides:
            return self.overrides[day]
        known = self._known.get(day)
        if known is None:
            known = self._known[day] = self.base(day)
        return known

    def _day_windows(self, day: date) -> list[tuple[datetime, datetime]]:
        if not self.is_workday(day):
            return []
        return [(datetime.combine(day, a, self.tz), datetime.combine(day, b, self.tz)) for a, b in self.periods]

    def add(self, start: datetime, minutes: float) -> datetime:
        """The moment `minutes` of working time after `start` (UTC)."""
        _aware(start)
        if minutes < 0:
            raise LimitError("negative limit")
        cursor = start.astimezone(self.tz)
        remaining = timedelta(minutes=minutes)
        if remaining == timedelta(0):
            return start.astimezone(timezone.utc)
        day = cursor.date()
        for _ in range(MAX_DAYS):
            for a, b in self._day_windows(day):
                lo = max(a, cursor)
                if lo >= b:
                    continue
                span = b - lo
                if span >= remaining:
                    return (lo + remaining).astimezone(timezone.utc)
                remaining -= span
            day += timedelta(days=1)
        raise LimitError("deadline beyond the calendar horizon")

    def between(self, start: datetime, end: datetime) -> float:
        """Working minutes in [start, end); negative when end is before start."""
        _aware(start), _aware(end)
        if end < start:
            return -self.between(end, start)
        a_local, b_local = start.astimezone(self.tz), end.astimezone(self.tz)
        total = timedelta(0)
        day = a_local.date()
        if (b_local.date() - day).days > MAX_DAYS:
            raise LimitError("interval beyond the calendar horizon")
        while day <= b_local.date():
            for a, b in self._day_windows(day):
                lo, hi = max(a, a_local), min(b, b_local)
                if hi > lo:
                    total += hi - lo
            day += timedelta(days=1)
        return total.total_seconds() / 60


def parse_limit(text: str) -> tuple[int, str]:
    """'4h' → (4, 'h'); units m (minutes), h (hours), d (days)."""
    match = _LIMIT_RE.match(text or "")
    if not match:
        raise LimitError(f"时限格式应为 30m、4h 或 2d / a limit looks like 30m, 4h or 2d, got {text!r}")
    value, unit = int(match.group(1)), match.group(2).lower()
    if value <= 0:
        raise LimitError("时限必须大于 0 / the limit must be positive")
    return value, unit


def limit_minutes(value: int, unit: str, urgent: bool, day_minutes: int = WORKDAY_MINUTES_DEFAULT) -> int:
    """Minutes of a limit: a working day is day_minutes of working time; an urgent day is 24 h."""
    per = {"m": 1, "h": 60, "d": 1440 if urgent else day_minutes}
    if unit not in per:
        raise LimitError(f"unknown limit unit {unit!r}")
    return value * per[unit]


def due_at(cal: WorkCalendar, start: datetime, minutes: float, urgent: bool) -> datetime:
    """Deadline of a node that starts at `start`: continuous for urgent, working time otherwise."""
    if urgent:
        return (_aware(start) + timedelta(minutes=minutes)).astimezone(timezone.utc)
    return cal.add(start, minutes)


def elapsed_fraction(cal: WorkCalendar, start: datetime, due: datetime, now: datetime, urgent: bool) -> float:
    """Share of the node's time used at `now` (0 at start, 1 at the deadline)."""
    if urgent:
        total = (due - start).total_seconds()
        used = (now - start).total_seconds()
    else:
        total = cal.between(start, due)
        used = cal.between(start, now)
    if total <= 0:
        return 0.0 if now <= due else float("inf")
    return max(used, 0.0) / total


def time_left_words(minutes: int) -> tuple[str, str]:
    """How a deadline stands, as people say it: 剩余 2 小时 10 分 / 超时 3 天 5 小时 (wall-clock minutes to the due
    time; negative once past it). Days and hours, or hours and minutes under a day."""
    late, m = minutes < 0, abs(int(minutes))
    days, hours, mins = m // 1440, m % 1440 // 60, m % 60
    if days:
        zh, en = f"{days} 天 {hours} 小时", f"{days} d {hours} h"
    elif hours:
        zh, en = f"{hours} 小时 {mins} 分", f"{hours} h {mins} min"
    else:
        zh, en = f"{mins} 分钟", f"{mins} min"
    return (f"超时 {zh}", f"overdue by {en}") if late else (f"剩余 {zh}", f"{en} left")


Light = Literal["green", "yellow", "red"]


def light(fraction: float) -> Light:
    """Traffic light: green < 80 %, yellow 80–100 %, red beyond 100 %."""
    if fraction < 0.8:
        return "green"
    if fraction <= 1.0:
        return "yellow"
    return "red"


def _minutes(a: time, b: time) -> int:
    return (b.hour * 60 + b.minute) - (a.hour * 60 + a.minute)


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise LimitError("naive datetime; pass an aware time")
    return value
