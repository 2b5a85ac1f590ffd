"""Working-time deadlines across weekends, statutory holidays and 调休 working Saturdays (2025 and 2026)."""

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from cityloop.sla.domain import (
    LimitError, WorkCalendar, due_at, elapsed_fraction, light, limit_minutes, parse_limit, parse_periods,
)

TZ = ZoneInfo("Asia/Shanghai")
CAL = WorkCalendar()


def t(y, mo, d, h=0, mi=0):
    return datetime(y, mo, d, h, mi, tzinfo=TZ)


@pytest.mark.parametrize("start, minutes, expected, why", [
    (t(2026, 11, 23, 9), 60, t(2026, 11, 23, 10), "plain Monday morning"),
    (t(2026, 11, 23, 11, 30), 60, t(2026, 11, 23, 14, 30), "skips the lunch break"),
    (t(2026, 11, 23, 7), 30, t(2026, 11, 23, 8, 30), "before work starts at 08:00"),
    (t(2026, 11, 23, 19), 30, t(2026, 11, 24, 8, 30), "after work: next morning"),
    (t(2026, 11, 27, 17), 240, t(2026, 11, 30, 11), "Friday 17:00 + 4h crosses the weekend"),
    (t(2026, 11, 23, 9), 960, t(2026, 11, 25, 9), "2 working days"),
    (t(2026, 9, 30, 17), 240, t(2026, 10, 8, 11), "National Day 2026: Oct 1–7 off"),
    (t(2026, 10, 9, 17), 120, t(2026, 10, 10, 9), "Sat 2026-10-10 is a 调休 working day"),
    (t(2026, 2, 13, 17), 120, t(2026, 2, 14, 9), "Sat 2026-02-14 is a 调休 working day before Spring Festival"),
    (t(2026, 2, 14, 17), 120, t(2026, 2, 24, 9), "Spring Festival 2026: Feb 15–23 off"),
    (t(2025, 9, 30, 17), 120, t(2025, 10, 9, 9), "National Day + Mid-Autumn 2025: Oct 1–8 off"),
    (t(2025, 9, 26, 17), 120, t(2025, 9, 28, 9), "Sun 2025-09-28 is a 调休 working day"),
    (t(2025, 12, 31, 17), 120, t(2026, 1, 4, 9), "New Year 2026 off, Sun 2026-01-04 works"),
    (t(2025, 4, 30, 17), 120, t(2025, 5, 6, 9), "Labour Day 2025: May 1–5 off"),
])
def test_add_working_time(start, minutes, expected, why):
    assert CAL.add(start, minutes) == expected.astimezone(timezone.utc), why


@pytest.mark.parametrize("start, end, minutes", [
    (t(2026, 11, 23, 9), t(2026, 11, 23, 10), 60),
    (t(2026, 11, 23, 11), t(2026, 11, 23, 15), 120),
    (t(2026, 11, 27, 17), t(2026, 11, 30, 9), 120),
    (t(2026, 9, 30, 8), t(2026, 10, 8, 8), 480),
    (t(2026, 11, 23, 10), t(2026, 11, 23, 9), -60),
])
def test_working_minutes_between(start, end, minutes):
    assert CAL.between(start, end) == minutes


def test_urgent_counts_continuous_time():
    assert due_at(CAL, t(2026, 10, 1, 22), 120, urgent=True) == t(2026, 10, 2, 0).astimezone(timezone.utc)


def test_override_makes_a_holiday_a_workday_and_back():
    cal = WorkCalendar(overrides={date(2026, 10, 2): True, date(2026, 11, 24): False})
    assert cal.add(t(2026, 9, 30, 17), 120) == t(2026, 10, 2, 9).astimezone(timezone.utc)
    assert cal.add(t(2026, 11, 23, 17), 120) == t(2026, 11, 25, 9).astimezone(timezone.utc)


def test_custom_periods():
    cal = WorkCalendar(periods=parse_periods(["09:00-12:00", "13:30-17:30"]))
    assert cal.day_minutes == 420
    assert cal.add(t(2026, 11, 23, 11), 120) == t(2026, 11, 23, 14, 30).astimezone(timezone.utc)


@pytest.mark.parametrize("text, expected", [("30m", (30, "m")), ("4h", (4, "h")), ("2d", (2, "d")), (" 2D ", (2, "d"))])
def test_parse_limit(text, expected):
    assert parse_limit(text) == expected


@pytest.mark.parametrize("text", ["", "4", "h4", "0h", "-1h", "4w", "1.5h", "999999h"])
def test_parse_limit_rejects(text):
    with pytest.raises(LimitError):
        parse_limit(text)


@pytest.mark.parametrize("value, unit, urgent, minutes", [
    (2, "d", False, 960), (2, "d", True, 2880), (4, "h", False, 240), (30, "m", True, 30),
])
def test_limit_minutes(value, unit, urgent, minutes):
    assert limit_minutes(value, unit, urgent) == minutes


@pytest.mark.parametrize("fraction, colour", [(0, "green"), (0.79, "green"), (0.8, "yellow"), (1.0, "yellow"),
                                              (1.01, "red"), (5, "red")])
def test_light(fraction, colour):
    assert light(fraction) == colour


def test_elapsed_fraction_ignores_nights():
    start, due = t(2026, 11, 23, 17), t(2026, 11, 24, 10)  # 1h Monday + 2h Tuesday
    assert elapsed_fraction(CAL, start, due, t(2026, 11, 24, 8), urgent=False) == pytest.approx(1 / 3)


@pytest.mark.parametrize("bad", [["12:00-08:00"], ["08:00-12:00", "11:00-14:00"], ["8-12x"], []])
def test_bad_periods(bad):
    with pytest.raises(LimitError):
        parse_periods(bad)


def test_naive_times_are_refused():
    with pytest.raises(LimitError):
        CAL.add(datetime(2026, 11, 23, 9), 10)


@pytest.mark.parametrize("minutes, zh, en", [
    (130, "剩余 2 小时 10 分", "2 h 10 min left"),
    (45, "剩余 45 分钟", "45 min left"),
    (0, "剩余 0 分钟", "0 min left"),
    (-1, "超时 1 分钟", "overdue by 1 min"),
    (-(3 * 1440 + 5 * 60 + 59), "超时 3 天 5 小时", "overdue by 3 d 5 h"),
    (1440, "剩余 1 天 0 小时", "1 d 0 h left"),
])
def test_time_left_in_words(minutes, zh, en):
    from cityloop.sla.domain import time_left_words

    assert time_left_words(minutes) == (zh, en)
