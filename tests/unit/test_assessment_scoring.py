"""Rates, count bands, composite scores, grades, rankings, periods and the numpy sums, on small hand-made data."""

from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from cityloop.assessment import engine
from cityloop.assessment.figures import KINDS, NEVER, NODE_CODES, RATES, pack, rate
from cityloop.assessment.periods import PeriodError, last_month, months_back, parse_period, previous
from cityloop.assessment import scoring
from cityloop.assessment.scoring import DEFAULT_BANDS, band, compare, grade, make_config, rank, score

CFG = make_config()


@pytest.mark.parametrize("name, counters, expected", [
    ("handle_rate", {"handled": 9, "handle_due": 10}, 0.9),
    ("handle_on_time_rate", {"handled_on_time": 7, "handle_due": 10}, 0.7),
    ("close_rate", {"closed": 0, "close_due": 4}, 0.0),
    ("rework_rate", {"reworked": 1, "close_due": 4}, 0.25),
    ("accurate_file_rate", {"accurate_filed": 19, "filed": 20}, 0.95),
    ("accurate_dispatch_rate", {"accurate_dispatched": 3, "dispatch_due": 4}, 0.75),
    ("missed_rate", {"public_verified": 2, "filed": 8, "valid_reported": 6}, 0.25),  # 漏报数 ÷ 立案数
    ("public_report_rate", {"public_verified": 5, "filed": 4}, 1.0),  # capped at 100 %
    ("satisfaction_rate", {"satisfied": 3}, None),  # nothing rated
    ("verify_on_time_rate", {"verified_on_time": 1, "verify_due": 3}, 1 / 3),
])
def test_rates(name, counters, expected):
    assert rate(RATES[name], counters) == pytest.approx(expected) if expected is not None else \
        rate(RATES[name], counters) is None


@pytest.mark.parametrize("table, value, expected", [
    ("department", 0, 100), ("department", 50, 100), ("department", 51, 90), ("department", 1000, 40),
    ("department", 1001, 0), ("operator", 100, 0), ("operator", 101, 40), ("operator", 2001, 100),
    ("region_class1", 0, 100), ("region_class1", 2, 90), ("region_class1", 3, 75), ("region_class1", 9, 0),
    ("region_class2", 3, 90), ("region_class2", 10, 0),
])
def test_bands(table, value, expected):
    assert band(value, DEFAULT_BANDS[table]) == expected


@pytest.mark.parametrize("value, letter", [(100, "A"), (90, "A"), (89.99, "B"), (75, "B"), (74.9, "C"), (60, "C"),
                                           (59, "D"), (40, "D"), (39.99, "E"), (0, "E"), (None, None)])
def test_grades(value, letter):
    assert grade(value, CFG.grades) == letter


def test_department_score_by_hand():
    counters = {"filed": 60, "handle_due": 60, "handled": 58, "handled_on_time": 54, "close_due": 60, "closed": 57,
                "reworked": 6}
    rates = engine.rates_of("department", counters)
    value, parts = score("department", counters, rates, CFG)
    # 立案数分值 90 (51–100) ×10 + 结案率 95 ×30 + 按期处置率 90 ×30 + (100 − 返工率 10) ×30, over 100
    assert parts == {"filed_score": 90.0, "close_rate": 95.0, "handle_on_time_rate": 90.0, "rework_rate": 90.0}
    assert value == pytest.approx((90 * 10 + 95 * 30 + 90 * 30 + 90 * 30) / 100, abs=0.005)


def test_missing_indicators_are_left_out_and_the_rest_rescaled():
    counters = {"reported": 10, "valid_reported": 9, "filed": 8, "verify_due": 0, "check_due": 4,
                "checked_on_time": 2}
    rates = engine.rates_of("inspector", counters)
    value, parts = score("inspector", counters, rates, CFG)
    assert set(parts) == {"valid_report_rate", "missed_rate", "check_on_time_rate"}
    assert value == pytest.approx((90 * 40 + 100 * 20 + 50 * 20) / 80, abs=0.005)
    assert score("inspector", {}, engine.rates_of("inspector", {}), CFG) == (None, {})


def test_regional_weights_sum_to_100_and_can_be_overridden():
    assert sum(CFG.weights["region"].values()) == 100
    custom = make_config({"region": {"close_on_time_rate": 10}})
    counters = {"filed": 4, "public_verified": 1, "close_due": 4, "closed": 4, "closed_on_time": 2}
    rates = engine.rates_of("street", counters)
    value, _ = score("street", counters, rates, custom, grid_band=75.0)
    assert value == pytest.approx((75 * 10 + 75 * 20 + 100 * 30 + 50 * 10) / 70, abs=0.005)
    with pytest.raises(ValueError):
        make_config({"region": {"nonsense": 1}})
    with pytest.raises(ValueError):
        make_config(bands={"department": [[10, 100]]})


def test_rank_within_groups_with_ties_and_change():
    rows = [{"object_id": i, "group": g, "score": s} for i, g, s in
            [(1, "a", 90.0), (2, "a", 95.0), (3, "a", 90.0), (4, "a", None), (5, "b", 10.0)]]
    rank(rows)
    assert [r["rank"] for r in rows] == [2, 1, 2, None, 1]
    compare(rows, {("a", "1"): 1, ("a", "2"): 3, ("b", "5"): 1})
    assert [r["rank_change"] for r in rows] == [-1, 2, None, None, 0]


@pytest.mark.parametrize("text, key, start, end", [
    ("2026-10", "2026-10", date(2026, 10, 1), date(2026, 11, 1)),
    ("2026-12", "2026-12", date(2026, 12, 1), date(2027, 1, 1)),
    ("2026-q4", "2026-Q4", date(2026, 10, 1), date(2027, 1, 1)),
    ("2026", "2026", date(2026, 1, 1), date(2027, 1, 1)),
    ("2026-10-05..2026-10-20", "2026-10-05..2026-10-20", date(2026, 10, 5), date(2026, 10, 21)),
])
def test_periods(text, key, start, end):
    p = parse_period(text)
    assert (p.key, p.start, p.end) == (key, start, end)


@pytest.mark.parametrize("bad", ["", "2026-13", "26-10", "2026-Q5", "2026-10-20..2026-10-05", "0001-01", "x"])
def test_bad_periods(bad):
    with pytest.raises(PeriodError):
        parse_period(bad)


def test_previous_periods_and_bounds():
    assert previous(parse_period("2026-01")).key == "2025-12"
    assert previous(parse_period("2026-Q1")).key == "2025-Q4"
    assert previous(parse_period("2026")).key == "2025"
    assert previous(parse_period("2026-10-11..2026-10-20")).key == "2026-10-01..2026-10-10"
    assert last_month(date(2026, 1, 15)).key == "2025-12"
    assert [p.key for p in months_back(date(2026, 2, 3), 3)] == ["2025-12", "2026-01", "2026-02"]
    start, end = parse_period("2026-10").bounds(ZoneInfo("Asia/Shanghai"))
    assert start.astimezone(timezone.utc) == datetime(2026, 9, 30, 16, tzinfo=timezone.utc)
    assert parse_period("2026-10").label == ("2026年10月", "October 2026")


def _columns(rows: list[dict]) -> dict[str, np.ndarray]:
    cols = {name: np.array([r.get(name, 0) for r in rows], dtype=np.int64) for name in engine.FETCH}
    return cols


def _row(counters: dict, open_node: int = 0, pending: int = 0, **objects) -> dict:
    flags, counts = pack(counters | {"open_node": open_node})
    return {"flags": flags, "counts": counts, "pending_ts": pending, **objects}


def test_sums_hold_back_what_is_not_yet_due():
    now = 1_000
    due = {"handle_due": 1, "close_due": 1}
    rows = [
        _row(due | {"handled": 1, "handled_on_time": 1}, department_id=1, grid=341122100001001),
        _row(due, NODE_CODES["handle"], now + 60, department_id=1, grid=341122100001002),  # not yet due
        _row(due, NODE_CODES["handle"], now - 60, department_id=1, grid=341122100002001),  # overdue, open
        _row(due | {"suspended": 1}, NODE_CODES["handle"], NEVER, department_id=2, grid=341122100001001),
        _row({"check_due": 2, "checked": 1}, NODE_CODES["check"], now + 5, checker_id=7, grid=341122100001001),
    ]
    data = engine.decode(_columns(rows), now)
    dept = engine.sums(data, "department")
    assert {k: dept[1][k] for k in ("handle_due", "handled", "handled_on_time", "overdue_open")} == \
        {"handle_due": 2, "handled": 1, "handled_on_time": 1, "overdue_open": 1}
    assert dept[2]["handle_due"] == 0 and dept[2]["suspended"] == 1
    assert engine.sums(data, "inspector")[7]["check_due"] == 1
    streets = engine.sums(data, "street")
    assert list(streets) == [341122100] and streets[341122100]["handle_due"] == 2
    communities = engine.sums(data, "community")
    assert communities[341122100001]["handle_due"] == 1 and communities[341122100002]["overdue_open"] == 1
    assert list(engine.matching(data, "community", 341122100002, "overdue_open")) == [2]
    assert set(KINDS["department"].counters) <= set(dept[1])


@pytest.mark.parametrize("kind, counters, minimum, expected", [
    ("department", {"handle_due": 4}, 5, True),
    ("department", {"handle_due": 5}, 5, False),
    ("department", {}, 5, True),
    ("department", {"handle_due": 1}, 0, False),
    ("inspector", {"reported": 2}, 5, True),
    ("dispatcher", {"dispatch_due": 9}, 5, False),
    ("street", {"filed": 0}, 5, False),  # regions are ranked whatever their volume
])
def test_minimum_volume(kind, counters, minimum, expected):
    assert scoring.too_few(kind, counters, scoring.make_config(min_volume=minimum)) is expected


def test_units_under_the_minimum_keep_their_score_but_get_no_rank():
    rows = [{"group": "g", "score": 100.0, "too_few": True}, {"group": "g", "score": 80.0, "too_few": False},
            {"group": "g", "score": 70.0}]
    scoring.rank(rows)
    assert [r["rank"] for r in rows] == [None, 1, 2]
