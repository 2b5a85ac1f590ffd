"""沿街抛撒 matching (distance, time window, nearest pass) and roadside check results (table-driven)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cityloop.muck.domain import FAIL, PASS, check_result, closest_approach, passes, unknown_items

LON, LAT = 118.43, 32.45
KX = 111_320.0 * math.cos(math.radians(LAT))
AT = 10_000.0


def east(t0: float, x0_m: float, y_m: float, speed_ms: float, seconds: int, step: int = 10) -> np.ndarray:
    """A track driving east, y_m north of the spill, starting x0_m east of it (negative: west)."""
    return np.array([(t0 + k, LON + (x0_m + speed_ms * k) / KX, LAT + y_m / 110_574.0)
                     for k in range(0, seconds + 1, step)], dtype=float)


@pytest.mark.parametrize("track, distance, when", [
    (east(AT - 100, -500, 20, 10, 100), 20, AT - 50),        # passes 20 m north at t - 50 s, between fixes
    (east(AT - 100, -500, 0, 10, 40), 100, AT - 60),          # stops 100 m short: the last fix
    (east(AT, 30, 0, 10, 0), 30, AT),                         # a single fix
])
def test_closest_approach(track, distance, when):
    d, t = closest_approach(track, LON, LAT)
    assert d == pytest.approx(distance, abs=0.5) and t == pytest.approx(when, abs=1)


def test_closest_approach_of_no_track():
    assert closest_approach(np.zeros((0, 3)), LON, LAT) is None


@pytest.mark.parametrize("name, tracks, expected", [
    ("one truck within the radius", {1: east(AT - 600, -3000, 10, 10, 600)}, [1]),
    ("too far from the spill", {1: east(AT - 600, -3000, 80, 10, 600)}, []),
    ("passed before the window", {1: east(AT - 4000, -500, 5, 10, 100)}, []),
    ("passed after the window", {1: east(AT + 300, -500, 5, 10, 100)}, []),
    ("just after the report, inside the grace", {1: east(AT + 30, -500, 5, 10, 100)}, [1]),
    ("the nearest first", {1: east(AT - 600, -3000, 40, 10, 600), 2: east(AT - 900, -3000, 5, 10, 600)}, [2, 1]),
    ("equal distance: the pass closer in time first",
     {1: east(AT - 1500, -500, 10, 10, 100), 2: east(AT - 200, -500, 10, 10, 100)}, [2, 1]),
    ("no tracks", {}, []),
])
def test_passes(name, tracks, expected):
    found = passes(tracks, LON, LAT, AT, radius_m=50, before_s=1800, after_s=120)
    assert [p.vehicle_id for p in found] == expected, name
    assert all(p.distance_m <= 50 for p in found)


@pytest.mark.parametrize("items, result, failed", [
    ({"sealed": True, "appearance": True, "overload": True, "papers": True}, PASS, []),
    ({"sealed": False, "appearance": True}, FAIL, ["sealed"]),
    ({"papers": False, "overload": False, "sealed": True}, FAIL, ["overload", "papers"]),  # in item order
    ({"sealed": True}, PASS, []),  # items not checked do not fail
])
def test_check_result(items, result, failed):
    assert check_result(items) == (result, failed)


def test_unknown_items():
    assert unknown_items({"sealed": True, "colour": False, "wheels": True}) == ["colour", "wheels"]
