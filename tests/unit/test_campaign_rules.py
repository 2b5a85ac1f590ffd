"""专项普查 rules: which cases a campaign claims, its window, and its progress per grid (table-driven)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from cityloop.campaigns.domain import Window, claims, progress, window_problem

T0 = datetime(2026, 11, 23, 0, 0, tzinfo=timezone.utc)
WINDOW = Window(T0, T0 + timedelta(days=7))
CATS, GRIDS = frozenset({"04001", "07001"}), frozenset({"DG01", "DG02"})


@pytest.mark.parametrize("category, grid, at, expected", [
    ("04001", "DG01", T0, True),                            # first instant of the window
    ("07001", "DG02", T0 + timedelta(days=3), True),
    ("04001", "DG01", T0 + timedelta(days=7), False),       # the end is excluded
    ("04001", "DG01", T0 - timedelta(seconds=1), False),    # before it starts
    ("06010", "DG01", T0 + timedelta(days=1), False),       # not one of its matters
    ("04001", "DG03", T0 + timedelta(days=1), False),       # outside its grids
    ("04001", None, T0 + timedelta(days=1), False),         # a case without a duty grid
])
def test_claims(category, grid, at, expected):
    assert claims(CATS, GRIDS, WINDOW, category, grid, at) is expected


@pytest.mark.parametrize("days, problem", [(7, False), (366, False), (367, True), (0, True), (-1, True)])
def test_window_problem(days, problem):
    assert (window_problem(T0, T0 + timedelta(days=days)) is not None) is problem


@pytest.mark.parametrize("grids, items, done, cases, rows, overall", [
    (["DG01", "DG02"], 3, [], [], [(0, 3, 0, 0), (0, 3, 0, 0)], (0, 6, 0, 0)),
    (["DG01", "DG02"], 3, [("DG01", 1), ("DG01", 2), ("DG01", 2)], [("DG01", True), ("DG02", False)],
     [(2, 3, 1, 1), (0, 3, 1, 0)], (2, 6, 2, 1)),                  # a repeated check counts once
    (["DG01"], 2, [("DG09", 1)], [("DG09", True), (None, False)], [(0, 2, 0, 0)], (0, 2, 2, 1)),  # outside: overall only
    ([], 0, [], [], [], (0, 0, 0, 0)),
])
def test_progress(grids, items, done, cases, rows, overall):
    p = progress(grids, items, done, cases)
    assert [(r.items_done, r.items_total, r.cases_found, r.cases_closed) for r in p.grids] == rows
    o = p.overall
    assert (o.items_done, o.items_total, o.cases_found, o.cases_closed) == overall
    assert o.done_ratio == (round(o.items_done / o.items_total, 4) if o.items_total else 0.0)
