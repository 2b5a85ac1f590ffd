"""Public services rules: nearest-service ranking, directions, opening hours, codes, phone numbers and the 追呼
call schedule across days, weekends, holidays and its stop rules."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from cityloop.public import domain
from cityloop.public.domain import CallPlan, CampaignState, Spot, next_call, rank_nearest
from cityloop.sla.domain import WorkCalendar

SH = ZoneInfo("Asia/Shanghai")
LON, LAT = 118.4300, 32.4500
M_LAT = 1 / 111_195  # degrees of latitude per metre (spherical earth of domain.EARTH_M)


def north(m: float) -> tuple[float, float]:
    return LON, LAT + m * M_LAT


def east(m: float) -> tuple[float, float]:
    import math

    return LON + m * M_LAT / math.cos(math.radians(LAT)), LAT


def spot(i: int, kind: str, at: tuple[float, float], hours: str | None = None) -> Spot:
    return Spot(i, kind, f"s{i}", at[0], at[1], hours)


@pytest.mark.parametrize("spots, kinds, limit, max_m, expected", [
    # nearest first by walking distance
    ([spot(1, "toilet", north(300)), spot(2, "toilet", east(100)), spot(3, "toilet", north(200))], None, 5, None,
     [2, 3, 1]),
    # only the kinds asked for
    ([spot(1, "toilet", north(300)), spot(2, "water", east(100))], ["toilet"], 5, None, [1]),
    # the limit cuts the tail
    ([spot(i, "toilet", north(100 * i)) for i in range(1, 8)], None, 3, None, [1, 2, 3]),
    # equal distances: lower id first (stable across requests)
    ([spot(9, "toilet", north(100)), spot(4, "toilet", east(100))], None, 5, None, [4, 9]),
    # beyond the walking limit (300 m straight = 390 m walking > 350 m)
    ([spot(1, "toilet", north(200)), spot(2, "toilet", north(300))], None, 5, 350, [1]),
    ([], None, 5, None, []),
])
def test_rank_nearest(spots, kinds, limit, max_m, expected):
    assert [r.spot.id for r in rank_nearest(LON, LAT, spots, kinds=kinds, limit=limit, max_walk_m=max_m)] == expected


@pytest.mark.parametrize("at, straight, walk, minutes, zh, en", [
    (north(320), 320, 416, 6, "北 420 米", "north 420 m"),
    (east(1000), 1000, 1300, 18, "东 1.3 公里", "east 1.3 km"),
    ((LON + 0.002, LAT - 0.002), 290, 377, 6, "东南 380 米", "south-east 380 m"),
    ((LON - 0.002, LAT + 0.002), 290, 377, 6, "西北 380 米", "north-west 380 m"),
    (north(5), 5, 6.5, 1, "就在附近", "right here"),
])
def test_walking_distance_and_direction(at, straight, walk, minutes, zh, en):
    r = rank_nearest(LON, LAT, [spot(1, "toilet", at)])[0]
    assert r.straight_m == pytest.approx(straight, rel=0.02)
    assert r.walk_m == pytest.approx(walk, rel=0.02)  # straight line × 1.3
    assert r.minutes == minutes  # 75 m a minute, rounded up
    assert (r.direction(), r.direction(english=True)) == (zh, en)


@pytest.mark.parametrize("bearing, zh", [(0, "北"), (22, "北"), (23, "东北"), (90, "东"), (135, "东南"), (180, "南"),
                                         (225, "西南"), (270, "西"), (315, "西北"), (338, "北"), (359.9, "北")])
def test_compass(bearing, zh):
    assert domain.compass(bearing)[0] == zh


@pytest.mark.parametrize("hours, at, expected", [
    ("06:00-22:00", time(5, 59), False), ("06:00-22:00", time(6, 0), True), ("06:00-22:00", time(22, 0), False),
    ("24h", time(3, 0), True), ("全天", time(23, 59), True),
    ("08:00-12:00,14:00-18:00", time(13, 0), False), ("08:00-12:00，14:00-18:00", time(15, 0), True),
    ("20:00-06:00", time(23, 0), True), ("20:00-06:00", time(5, 0), True), ("20:00-06:00", time(12, 0), False),
    (None, time(12, 0), None), ("", time(12, 0), None), ("早上开门", time(12, 0), None),
])
def test_opening_hours(hours, at, expected):
    assert domain.is_open(hours, at) is expected


@pytest.mark.parametrize("bad", ["6-22", "25:00-26:00", "08:00-08:00", "08:60-09:00", "24:30-01:00"])
def test_bad_opening_hours(bad):
    with pytest.raises(ValueError):
        domain.parse_hours(bad)


def test_nearest_reports_open_state():
    spots = [spot(1, "toilet", north(100), "06:00-22:00"), spot(2, "toilet", north(200), "24h"),
             spot(3, "toilet", north(300))]
    ranked = rank_nearest(LON, LAT, spots, at=time(23, 0))
    assert [r.open_now for r in ranked] == [False, True, None]


def test_codes_are_distinct_readable_and_avoid_taken():
    taken = {"AAAAAAAA"}
    codes = domain.new_codes(2000, taken=taken.__contains__, rng=random.Random(1))
    assert len(set(codes)) == 2000 and not taken & set(codes)
    assert all(domain.CODE_RE.match(c) for c in codes)
    assert not any(ch in "".join(codes) for ch in "01IO")
    assert domain.placement_url("https://x.example/", "ABCD2345") == "https://x.example/public/q/ABCD2345"


@pytest.mark.parametrize("raw, phone", [("138 0000 0000", "13800000000"), ("+86 138-0000-0000", "13800000000"),
                                        ("0550-5123456", "05505123456"), ("4008-123-456", "4008123456"),
                                        ("（0550）51234567", "055051234567")])
def test_phone_numbers(raw, phone):
    assert domain.normalize_phone(raw) == phone


@pytest.mark.parametrize("bad", ["12345", "23800000000", "1380000000", "abc", "", "110"])
def test_bad_phone_numbers(bad):
    with pytest.raises(ValueError):
        domain.normalize_phone(bad)


# ---- the 追呼 schedule --------------------------------------------------------------------------------------------
CAL = WorkCalendar()  # 08–12, 14–18 on Chinese working days (chinese-calendar: holidays and 调休)
PLAN = CallPlan(levels=((1, 3), (3, 6)), max_days=5, max_calls=40, min_gap_minutes=20)


def at(day: str, hm: str) -> datetime:
    return datetime.fromisoformat(f"{day}T{hm}").replace(tzinfo=SH)


def state(started: datetime, calls: list[datetime] = ()) -> CampaignState:
    by_day: dict[date, int] = {}
    for c in calls:
        by_day[c.astimezone(SH).date()] = by_day.get(c.astimezone(SH).date(), 0) + 1
    return CampaignState(started_at=started, calls=len(calls), last_call_at=max(calls) if calls else None,
                         calls_by_day=by_day)


def local(result) -> tuple:
    return (result.kind, result.at.astimezone(SH).strftime("%Y-%m-%d %H:%M") if result.at else None,
            result.level, result.day_no, result.reason)


@pytest.mark.parametrize("started, calls, now, expected", [
    # started on a working morning: the first call is due at once (day 1, level 1)
    (at("2026-11-23", "09:00"), [], at("2026-11-23", "09:00"), ("call", "2026-11-23 09:00", 1, 1, None)),
    # three calls a day at 08:00, 10:40, 15:20: after the first, the next slot
    (at("2026-11-23", "08:00"), [at("2026-11-23", "08:00")], at("2026-11-23", "08:01"),
     ("call", "2026-11-23 10:40", 1, 1, None)),
    # a slot that falls in the lunch break moves to 14:00 (missed while the dialer was down)
    (at("2026-11-23", "08:00"), [at("2026-11-23", "08:00")], at("2026-11-23", "12:30"),
     ("call", "2026-11-23 14:00", 1, 1, None)),
    # the day's calls are made: next working day at opening
    (at("2026-11-23", "08:00"), [at("2026-11-23", h) for h in ("08:00", "10:40", "15:20")], at("2026-11-23", "15:21"),
     ("call", "2026-11-24 08:00", 1, 2, None)),
    # evening: missed slots are not made up at night; tomorrow 08:00
    (at("2026-11-23", "08:00"), [at("2026-11-23", "08:00")], at("2026-11-23", "19:00"),
     ("call", "2026-11-24 08:00", 1, 2, None)),
    # Friday done → Monday (weekend skipped), escalated to level 2 on the 3rd working day: 6 calls a day
    (at("2026-11-26", "08:00"), [at("2026-11-27", h) for h in ("08:00", "10:40", "15:20")], at("2026-11-27", "16:00"),
     ("call", "2026-11-30 08:00", 2, 3, None)),
    # started on a Saturday: the first call waits for Monday, which is working day 1
    (at("2026-11-28", "10:00"), [], at("2026-11-28", "10:00"), ("call", "2026-11-30 08:00", 1, 1, None)),
    # 国庆 2026: called Wednesday 30 September; the holiday (1–7 October) is skipped, Thursday 8 October follows
    (at("2026-09-30", "08:00"), [at("2026-09-30", h) for h in ("08:00", "10:40", "15:20")], at("2026-09-30", "18:00"),
     ("call", "2026-10-08 08:00", 1, 2, None)),
    # 调休: Saturday 10 October 2026 is a make-up working day, so calls go on that Saturday
    (at("2026-10-08", "08:00"), [at("2026-10-09", h) for h in ("08:00", "10:40", "15:20")], at("2026-10-09", "18:00"),
     ("call", "2026-10-10 08:00", 2, 3, None)),
    # min gap: a call just made at 10:35 keeps the 10:40 slot until 10:55
    (at("2026-11-23", "08:00"), [at("2026-11-23", "08:00"), at("2026-11-23", "10:35")], at("2026-11-23", "10:36"),
     ("call", "2026-11-23 15:20", 1, 1, None)),
    (at("2026-11-23", "08:00"), [at("2026-11-23", "10:35")], at("2026-11-23", "10:36"),
     ("call", "2026-11-23 10:55", 1, 1, None)),
    # stop rules: after max_days working days (5: Mon 23 – Fri 27 November) …
    (at("2026-11-23", "08:00"), [at("2026-11-27", h) for h in ("08:00", "09:20", "10:40", "14:00", "15:20", "16:40")],
     at("2026-11-27", "17:00"), ("stop", None, 0, 6, "limit")),
    # … or after max_calls calls
    (at("2026-11-23", "08:00"), [at("2026-11-23", "08:00") + timedelta(minutes=i) for i in range(40)],
     at("2026-11-23", "09:00"), ("stop", None, 0, 0, "limit")),
])
def test_call_schedule(started, calls, now, expected):
    assert local(next_call(state(started, calls), now, CAL, PLAN)) == expected


def test_a_local_day_off_is_skipped():
    cal = WorkCalendar(overrides={date(2026, 11, 24): False})  # e.g. a local holiday declared in the override table
    done = [at("2026-11-23", h) for h in ("08:00", "10:40", "15:20")]
    assert local(next_call(state(at("2026-11-23", "08:00"), done), at("2026-11-23", "16:00"), cal, PLAN))[:4] == \
        ("call", "2026-11-25 08:00", 1, 2)


def test_a_stopped_campaign_is_not_called():
    s = CampaignState(started_at=at("2026-11-23", "08:00"), running=False)
    assert next_call(s, at("2026-11-23", "09:00"), CAL, PLAN).kind == "stop"


def test_calls_follow_the_plan_over_a_whole_campaign():
    """Replaying the dialer from start to end: never outside working time, never more than the day's quota, never
    closer than the gap, escalating on day 3, and ending after 5 working days."""
    started, calls, now = at("2026-11-26", "11:00"), [], at("2026-11-26", "11:00")
    while True:
        nxt = next_call(state(started, calls), now, CAL, PLAN)
        if nxt.kind == "stop":
            break
        calls.append(nxt.at)
        now = nxt.at
    per_day: dict[date, int] = {}
    for c in calls:
        t = c.astimezone(SH)
        assert CAL.is_workday(t.date()) and (time(8) <= t.time() < time(12) or time(14) <= t.time() < time(18))
        per_day[t.date()] = per_day.get(t.date(), 0) + 1
    assert all(b - a >= timedelta(minutes=20) for a, b in zip(calls, calls[1:]))
    # Thu 26 (started 11:00: the late slots still today, 20 minutes apart), Fri 27, Mon 30, Tue 1, Wed 2 December
    assert calls[:2] == [at("2026-11-26", "11:00"), at("2026-11-26", "11:20")]
    assert list(per_day.items()) == [(date(2026, 11, 26), 3), (date(2026, 11, 27), 3), (date(2026, 11, 30), 6),
                                     (date(2026, 12, 1), 6), (date(2026, 12, 2), 6)]
    assert all(c.tzinfo == timezone.utc for c in calls)
