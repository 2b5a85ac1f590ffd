"""Violation rules: every kind is produced by a scripted track and not by a compliant one; episodes fire once;
batch boundaries, back-fill and late positions change nothing; plus scores, hours and track simplification."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta, timezone

import numpy as np
import pytest
import shapely

from cityloop.fleet.domain import FLAG_BACKFILL, Batch, RuleEngine, Thresholds, effective_status, permit_status, score
from cityloop.fleet.track import length_m, simplify
from cityloop.fleet.world import (PermitSpec, SiteSpec, VehicleSpec, World, WorldSpec, ZoneSpec, in_windows,
                                  parse_hours)

LON0, LAT0 = 118.40, 32.45
KX, KY = 111_320.0 * math.cos(math.radians(LAT0)), 110_574.0
CST = timezone(timedelta(hours=8))
T10 = datetime(2026, 11, 23, 10, 0, tzinfo=CST).timestamp()


def pt(x: float, y: float) -> tuple[float, float]:
    return LON0 + x / KX, LAT0 + y / KY


def box(x0, y0, x1, y1):
    return shapely.box(*pt(x0, y0), *pt(x1, y1))


ROAD = shapely.LineString([pt(0, 0), pt(10_000, 0)])


def world() -> World:
    everyday = (date(2026, 11, 1), date(2026, 11, 30))
    return World(WorldSpec(
        vehicles=[VehicleSpec(1), VehicleSpec(2, sealed=False), VehicleSpec(4), VehicleSpec(6)],
        zones=[ZoneSpec(1, "road", "测试大道", ROAD, speed_limit=40, width_m=30),
               ZoneSpec(2, "restricted", "老城区", box(5000, 300, 5300, 600)),
               ZoneSpec(3, "restricted", "学校", box(8000, -100, 8200, 100), hours=parse_hours(["07:00-08:30"]))],
        sites=[SiteSpec(1, "construction", "工地", box(-200, -200, 0, 200)),
               SiteSpec(2, "disposal", "消纳场", box(10_000, -200, 10_200, 200))],
        permits=[PermitSpec(10, (1, 2), ROAD, 60, *everyday),
                 PermitSpec(11, (4,), ROAD, 60, *everyday, hours=parse_hours(["22:00-06:00"]))],
        city=box(-5000, -5000, 15_000, 5000), origin=(LON0, LAT0)))


def track(vid: int, t0: float, xs, ys, speed, load: int = 3, step: float = 5.0, flags: int = 0) -> list[tuple]:
    xs, ys = np.broadcast_arrays(np.asarray(xs, float), np.asarray(ys, float))
    speeds = np.broadcast_to(np.asarray(speed, float), xs.shape)
    return [(vid, t0 + i * step, *pt(x, y), float(s), 90, 0, 3 | (load << 8), flags)
            for i, (x, y, s) in enumerate(zip(xs, ys, speeds))]


def drive(vid: int, t0: float, x0: float, speed: float, seconds: float, y: float = 0.0, load: int = 3, step=5.0):
    n = int(seconds // step) + 1
    xs = x0 + np.arange(n) * speed / 3.6 * step
    return track(vid, t0, xs, y, speed, load, step)


def park(vid: int, t0: float, x: float, y: float, seconds: float, load: int = 3, step=30.0):
    return track(vid, t0, np.full(int(seconds // step) + 1, x), y, 0.0, load, step)


def run(rows: list[tuple], engine: RuleEngine | None = None, sweep_at: float | None = None):
    engine = engine or RuleEngine(world(), Thresholds())
    events = engine.evaluate(Batch.of(rows))
    if sweep_at is not None:
        events += engine.sweep(sweep_at)
    return events


def opened(events) -> list[str]:
    return sorted(e.kind for e in events if not e.closed)


CASES = [
    # (name, rows, sweep at, kinds that open)
    ("speeding", drive(1, T10, 100, 60, 60), None, ["speeding"]),
    ("a short burst is no episode", drive(1, T10, 100, 60, 10), None, []),
    ("compliant driving", drive(1, T10, 100, 38, 600), None, []),
    ("off the corridor", drive(1, T10, 100, 36, 120, y=200), None, ["off_route"]),
    ("inside the corridor", drive(1, T10, 100, 36, 120, y=20), None, []),
    ("hysteresis keeps the vehicle out", track(1, T10, 1000 + np.arange(30) * 50, [35, 25] * 15, 36), None,
     ["off_route"]),
    ("back inside resets", track(1, T10, 1000 + np.arange(30) * 50, [35, 15] * 15, 36), None, []),
    ("out of hours, loaded", drive(4, T10, 100, 36, 120), None, ["out_of_hours"]),
    ("out of hours, empty", drive(4, T10, 100, 36, 120, load=0), None, []),
    ("within the night hours", drive(4, T10 + 13 * 3600, 100, 36, 120), None, []),
    ("no permit in the city", drive(6, T10, 100, 36, 180), None, ["unpermitted"]),
    ("no permit outside the city", drive(6, T10, 20_000, 36, 180), None, []),
    ("stopped loaded outside the sites", drive(1, T10, 4900, 36, 20) + park(1, T10 + 30, 5100, 0, 720),
     None, ["dumping"]),
    ("stopped in a site", park(1, T10, -100, 0, 720), None, []),
    ("a short stop", park(1, T10, 5000, 0, 300), None, []),
    ("stopped empty", park(1, T10, 5000, 0, 720, load=0), None, []),
    ("into the old town", drive(1, T10, 5000, 18, 60, y=450), None, ["off_route", "restricted"]),
    ("past the school in school hours", drive(1, T10 - 2.5 * 3600, 7900, 30, 60), None, ["restricted"]),
    ("past the school after hours", drive(1, T10, 7900, 30, 60), None, []),
    ("silent while moving (clock)", drive(1, T10, 100, 36, 60), T10 + 60 + 301, ["offline"]),
    ("silent while parked", park(1, T10, 5000, 0, 60, load=0), T10 + 60 + 600, []),
    ("silent while moving (back again)", drive(1, T10, 100, 36, 60) + drive(1, T10 + 700, 4000, 36, 30), None,
     ["offline"]),
    ("unsealed body, loaded", drive(2, T10, 100, 36, 120), None, ["unsealed"]),
    ("unsealed body, empty", drive(2, T10, 100, 36, 120, load=0), None, []),
]


@pytest.mark.parametrize("name, rows, sweep_at, kinds", CASES, ids=[c[0] for c in CASES])
def test_each_rule(name, rows, sweep_at, kinds):
    assert opened(run(rows, sweep_at=sweep_at)) == kinds


@pytest.mark.parametrize("name, rows, sweep_at, kinds", CASES, ids=[c[0] for c in CASES])
def test_batch_boundaries_change_nothing(name, rows, sweep_at, kinds):
    whole = run(rows, sweep_at=sweep_at)
    engine = RuleEngine(world(), Thresholds())
    pieces = []
    for i in range(0, len(rows), 3):
        pieces += engine.evaluate(Batch.of(rows[i:i + 3]))
    if sweep_at is not None:
        pieces += engine.sweep(sweep_at)
    key = lambda e: (e.kind, e.vehicle_id, e.start, e.at, e.closed)  # noqa: E731
    assert sorted(map(key, pieces)) == sorted(map(key, whole))


def test_one_violation_per_episode_with_its_end():
    engine = RuleEngine(world(), Thresholds())
    events = run(drive(1, T10, 100, 60, 300), engine)
    assert [(e.kind, e.closed) for e in events] == [("speeding", False)]
    first = events[0]
    assert first.start == T10 and first.at == T10 + 15 and first.details == {
        "duration_s": 15, "speed_kmh": 60.0, "limit_kmh": 40.0}
    assert (first.lon, first.lat) == pytest.approx(pt(100 + 60 / 3.6 * 15, 0))
    events = run(drive(1, T10 + 305, 5100, 30, 30) + drive(1, T10 + 340, 5400, 70, 60), engine)
    assert [(e.kind, e.closed) for e in events] == [("speeding", True), ("speeding", False)]
    assert events[0].start == T10 and events[0].at == T10 + 300 and events[0].details["peak_kmh"] == 60.0
    assert events[1].start == T10 + 340 and events[0].key != events[1].key


def test_back_filled_and_late_positions_raise_nothing():
    engine = RuleEngine(world(), Thresholds())
    late = [r[:8] + (FLAG_BACKFILL,) for r in drive(1, T10, 100, 60, 120)]
    assert run(late, engine) == []
    run(drive(1, T10 + 1000, 100, 30, 30), engine)
    assert run(drive(1, T10, 100, 60, 120), engine) == []  # older than what the truck already reported


def test_shuffled_input_is_evaluated_in_time_order():
    rows = drive(1, T10, 100, 60, 60) + drive(6, T10, 100, 36, 180)
    shuffled = [rows[i] for i in np.random.default_rng(1).permutation(len(rows))]
    assert opened(run(shuffled)) == ["speeding", "unpermitted"]


def test_the_clock_reports_an_offline_episode_once_and_its_end_when_the_terminal_returns():
    engine = RuleEngine(world(), Thresholds())
    run(drive(1, T10, 100, 36, 60), engine)
    assert opened(engine.sweep(T10 + 200)) == []
    assert opened(engine.sweep(T10 + 400)) == ["offline"]
    assert engine.sweep(T10 + 900) == []
    back = run(drive(1, T10 + 1000, 4000, 36, 10), engine)
    assert [(e.kind, e.closed) for e in back] == [("offline", True)]


@pytest.mark.parametrize("status, due, now, expected", [
    ("open", 10, 5, "open"), ("open", 10, 11, "upheld"), ("appealed", 10, 11, "appealed"),
    ("cancelled", 10, 11, "cancelled"), ("upheld", 10, 5, "upheld"),
])
def test_effective_status(status, due, now, expected):
    at = lambda d: datetime(2026, 11, 1, tzinfo=timezone.utc) + timedelta(days=d)  # noqa: E731
    assert effective_status(status, at(due), at(now)) == expected


def test_permit_status_and_score():
    assert permit_status("approved", date(2026, 11, 1), date(2026, 11, 2)) == "expired"
    assert permit_status("approved", date(2026, 11, 2), date(2026, 11, 2)) == "approved"
    assert permit_status("pending", date(2026, 11, 1), date(2026, 11, 2)) == "pending"
    assert (score(0), score(37), score(250)) == (100, 63, 0)


@pytest.mark.parametrize("hours, minute, inside", [
    (["22:00-06:00"], 23 * 60, True), (["22:00-06:00"], 5 * 60 + 59, True), (["22:00-06:00"], 6 * 60, False),
    (["22:00-06:00"], 12 * 60, False), (["09:00-17:00", "20:00-21:00"], 20 * 60 + 30, True),
    ([], 12 * 60, True), (["00:00-24:00"], 0, True),
])
def test_hours(hours, minute, inside):
    windows = np.array([parse_hours(hours) or ((0, 0),)])
    assert bool(in_windows(np.array([minute]), windows)[0]) is inside


@pytest.mark.parametrize("bad", ["25:00-06:00", "22:00", "22:60-01:00", "ab:cd-01:00"])
def test_bad_hours_are_refused(bad):
    with pytest.raises(ValueError):
        parse_hours([bad])


def test_simplification_keeps_the_shape_and_the_ends():
    xs = np.linspace(0, 5000, 501)
    ys = np.where(xs < 2500, 0.0, 300.0) + np.random.default_rng(2).normal(0, 0.5, len(xs))
    lon, lat = LON0 + xs / KX, LAT0 + ys / KY
    keep = simplify(lon, lat, 5.0)
    assert keep[0] == 0 and keep[-1] == 500 and 3 <= len(keep) <= 12
    assert abs(length_m(lon[keep], lat[keep]) - 5300) < 60
    assert list(simplify(lon[:2], lat[:2], 5.0)) == [0, 1]
