"""Alarm rules as pure functions of (state, reading): thresholds, K of M, duration, hysteresis, escalation,
rates, means, schedules, overrides and the category mapping."""

from __future__ import annotations

import pytest

from cityloop.sensors.domain import (
    DEFAULT_RULES, RuleSpec, Schedule, State, calm, category_for, evaluate, is_quiet, level_of, offline_due,
    parse_period, rules_for, tune,
)

WATER = next(s for s in DEFAULT_RULES["waterlogging"] if s.code == "water_depth")
PLAIN = RuleSpec("t", "t", "t", "above", "depth_cm", (("blue", 15), ("yellow", 27), ("red", 40)), hysteresis=3)


def run(spec: RuleSpec, values, step: float = 60.0, local=None, start: float = 1_000_000.0):
    """Feed values one step apart; return the transitions as (index, kind, level) and the final state."""
    st, out = State(), []
    for i, v in enumerate(values):
        st, tr = evaluate(spec, st, start + i * step, v, local)
        if tr:
            out.append((i, tr.kind, tr.level))
    return out, st


@pytest.mark.parametrize("spec,values,want", [
    (PLAIN, [5, 16, 20, 30, 45, 30, 13, 11], [(1, "raise", "blue"), (3, "escalate", "yellow"),
                                              (4, "escalate", "red"), (7, "clear", "red")]),
    # severity never falls within an episode; the hysteresis band (12–15) keeps it active
    (PLAIN, [30, 20, 14, 12.5, 11.9], [(0, "raise", "yellow"), (4, "clear", "yellow")]),
    # 2 of the last 3 readings: a lone spike raises nothing
    (WATER, [30, 0, 0, 30, 0, 30], [(5, "raise", "yellow")]),
    # clear_s 300: the water must stay down five minutes
    (WATER, [30, 30, 1, 1, 1, 1, 1, 1, 1], [(1, "raise", "yellow"), (7, "clear", "yellow")]),
])
def test_threshold_rules(spec, values, want):
    assert run(spec, values)[0] == want


def test_sustained_for_n_minutes():
    spec = RuleSpec("t", "t", "t", "above", "leq_db", (("yellow", 55),), sustain_s=300)
    assert run(spec, [60] * 7)[0] == [(5, "raise", "yellow")]
    assert run(spec, [60, 60, 60, 50, 60, 60, 60])[0] == []  # broken before five minutes


def test_below_and_flag_rules():
    battery = next(s for s in DEFAULT_RULES["waterlogging"] if s.code == "battery_low")
    assert run(battery, [50, 19, 9, 12, 26])[0] == [(1, "raise", "blue"), (2, "escalate", "yellow"),
                                                    (4, "clear", "yellow")]
    cover = next(s for s in DEFAULT_RULES["manhole"] if s.code == "cover_open")
    assert run(cover, [0, 1, 1, 0])[0] == [(1, "raise", "red"), (3, "clear", "red")]


def test_rate_of_rise_and_rolling_mean():
    rise = next(s for s in DEFAULT_RULES["waterlogging"] if s.code == "water_rise")
    assert run(rise, [0, 2, 4, 6, 8, 10, 12, 13, 13, 13, 13, 13, 13, 13, 13, 13])[0][0] == (5, "raise", "yellow")
    dust = next(s for s in DEFAULT_RULES["dust"] if s.code == "dust_pm10")
    noon = ("2026-11-23", 0, 12 * 60)
    got, _ = run(dust, [60] * 5 + [400] * 15, local=noon)
    assert got and got[0][1] == "raise" and got[0][0] >= 8  # the 15-minute mean needs time to cross 150


def test_late_and_repeated_readings_change_nothing():
    st, tr = evaluate(PLAIN, State(), 100.0, 30)
    assert tr.kind == "raise"
    assert evaluate(PLAIN, st, 100.0, 0) == (st, None)
    assert evaluate(PLAIN, st, 50.0, 0) == (st, None)


@pytest.mark.parametrize("schedule,local,active", [
    (Schedule((parse_period("22:00-06:00"),)), ("2026-11-23", 0, 23 * 60), True),
    (Schedule((parse_period("22:00-06:00"),)), ("2026-11-23", 0, 5 * 60 + 59), True),
    (Schedule((parse_period("22:00-06:00"),)), ("2026-11-23", 0, 6 * 60), False),
    (Schedule((parse_period("06:00-22:00"),)), ("2026-11-23", 0, 12 * 60), True),
    (Schedule(dates=frozenset({"2026-06-07"})), ("2026-06-07", 6, 600), True),
    (Schedule(dates=frozenset({"2026-06-07"})), ("2026-06-08", 0, 600), False),
    (Schedule(weekdays=frozenset({5, 6})), ("2026-11-23", 0, 600), False),
    (Schedule(), ("2026-11-23", 0, 600), True),
])
def test_schedules(schedule, local, active):
    assert schedule.active(local) is active


def test_a_closing_window_clears_the_alarm():
    night = next(s for s in DEFAULT_RULES["noise"] if s.code == "noise_night")
    st = State()
    for i, minute in enumerate([23 * 60, 23 * 60 + 1, 23 * 60 + 2]):
        st, tr = evaluate(night, st, 1000.0 + i * 60, 70, ("2026-11-23", 0, minute))
    assert tr.kind == "raise" and st.level == "red"
    st, tr = evaluate(night, st, 2000.0, 70, ("2026-11-24", 1, 6 * 60))
    assert tr.kind == "clear"
    assert evaluate(night, State(), 3000.0, 90, ("2026-11-24", 1, 12 * 60))[1] is None


def test_level_of_and_offline():
    assert [level_of(PLAIN, v) for v in (14.9, 15, 27, 100)] == [None, "blue", "yellow", "red"]
    offline = next(s for s in DEFAULT_RULES["waterlogging"] if s.code == "offline")
    assert offline_due(offline, 0.0, 1800.0) and not offline_due(offline, 0.0, 1799.0)
    assert not offline_due(offline, None, 10**9)


def test_overrides_per_type_and_device():
    rules = rules_for("waterlogging", {"water_depth": {"levels": [["blue", 10], ["red", 30]]}},
                      {"water_depth": {"k": 1, "m": 1}, "water_rise": {"enabled": False}}, frozenset())
    water = next(s for s in rules if s.code == "water_depth")
    assert water.levels == (("blue", 10.0), ("red", 30.0)) and (water.k, water.m) == (1, 1)
    assert "water_rise" not in {s.code for s in rules}
    assert "noise_exam" not in {s.code for s in rules_for("noise", {}, {}, frozenset())}
    exam = next(s for s in rules_for("noise", {}, {}, frozenset({"2026-06-07"})) if s.code == "noise_exam")
    assert exam.schedule.dates == frozenset({"2026-06-07"})
    assert tune(PLAIN, {"periods": ["22:00-06:00"]}).schedule.periods == ((1320, 360),)


@pytest.mark.parametrize("change", [{"levels": [["purple", 1]]}, {"k": 5, "m": 3}, {"bogus": 1},
                                    {"case_level": "pink"}, {"periods": ["25"]}, {"periods": [5]},
                                    {"hysteresis": "abc"}, {"k": 0}, {"levels": 5}, {"sustain_s": -1}])
def test_bad_overrides_are_refused(change):
    with pytest.raises(ValueError):
        tune(PLAIN, change)


@pytest.mark.parametrize("key,context,cover,want", [
    ("waterlogging", "underpass", None, ("01072", None)),  # not 雨水箅子: the underpass's pumps drain it
    ("waterlogging", "square", None, ("01004", "02")),
    ("manhole", "road", "01003", ("01003", "01")),
    ("manhole", "road", None, ("01023", "01")),
    ("manhole", "road", "01004", ("01023", "01")),  # 雨水箅子 is no cover
    ("dust", "construction", None, ("08004", "01")),
    ("noise", "school", None, ("06028", None)),
    ("noise", "construction", None, ("08001", None)),
])
def test_category_mapping(key, context, cover, want):
    assert category_for(key, context, cover) == want


ALL_RULES = [s for specs in DEFAULT_RULES.values() for s in specs] + [
    PLAIN, RuleSpec("lo", "lo", "lo", "below", "battery_pct", (("blue", 20), ("yellow", 10))),
    RuleSpec("f1", "f1", "f1", "flag", "open", (("red", 1),)), RuleSpec("f0", "f0", "f0", "flag", "open", (("red", 0),))]


@pytest.mark.parametrize("spec", ALL_RULES, ids=lambda s: s.code)
def test_calm_values_leave_a_quiet_state_as_it_is(spec):
    """The ingestor skips evaluate() for a calm value on a quiet state: that must be exactly what evaluate does."""
    low, high = calm(spec)
    quiet = [State(), State(None, None, 0, None, 1_000_000.0, ())]
    values = [-1000.0, -1.0, 0.0, 1e-9, 0.5, 1.0, 5.0, 9.99, 10.0, 14.99, 15.0, 20.0, 20.0001, 50.0, 75.0, 90.0, 150.0,
              1000.0, 5000.0, low, high]
    calm_seen = 0
    for st in quiet:
        assert is_quiet(st)
        for v in values:
            if low <= v < high:
                calm_seen += 1
                assert evaluate(spec, st, 2_000_000.0, v) == (st, None), v
    if spec.kind in ("above", "below") and not spec.mean_s:
        assert calm_seen  # the fast path is real for plain thresholds
    if spec.kind == "rise" or spec.mean_s:
        assert not calm_seen  # rules that remember values are always evaluated


def test_a_state_with_memory_is_not_quiet():
    assert not is_quiet(State("blue"))
    assert not is_quiet(State(None, 5.0))
    assert not is_quiet(State(None, None, 1))
    assert not is_quiet(State(None, None, 0, None, 0.0, ((1.0, 2.0),)))
