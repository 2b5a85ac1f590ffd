"""Grid rules: codes, cutting communities into numbered cells, balanced duty grids, and an exact locate index."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from cityloop.geo.domain import (
    GridError, cell_size_for, cut_community, grid_code, level_of, parent_code, split_balanced,
)
from cityloop.geo.index import GridIndex


@pytest.mark.parametrize("code, level, parent", [
    ("341122", "district", None),
    ("341122100", "street", "341122"),
    ("341122100001", "community", "341122100"),
    ("341122100001007", "grid", "341122100001"),
    ("34112210000", None, None),
    ("34112A", None, None),
    ("", None, None),
])
def test_code_levels(code, level, parent):
    assert level_of(code) == level
    assert parent_code(code) == parent


@pytest.mark.parametrize("community, seq, expected", [
    ("341122100001", 1, "341122100001001"),
    ("341122100001", 999, "341122100001999"),
    ("341122100001", 0, GridError),
    ("341122100001", 1000, GridError),
    ("341122100", 1, GridError),
])
def test_grid_code(community, seq, expected):
    if expected is GridError:
        with pytest.raises(GridError):
            grid_code(community, seq)
    else:
        assert grid_code(community, seq) == expected


@pytest.mark.parametrize("area_m2, wanted, expected", [
    (1_000_000, 100, 100),  # 1 km²: about 100 cells of 100 m
    (8_000_000, 100, 100),  # 800 cells still fit in 999
    (20_000_000, 100, 150),  # 2000 cells would not: the side grows to keep ≤ 999
])
def test_cell_size_for(area_m2, wanted, expected):
    assert cell_size_for(area_m2, wanted) == expected


def test_cut_community_covers_exactly_and_numbers_west_to_east_north_to_south():
    # A 350 m × 250 m community offset from the lattice: cut pieces on the edges are slivers to merge.
    community = shapely.box(1030, 2010, 1380, 2260)
    cells = cut_community(community, 100)
    assert shapely.union_all([c.geometry for c in cells]).equals(community)
    assert abs(sum(c.geometry.area for c in cells) - community.area) < 1e-6
    assert all(c.geometry.area >= 0.25 * 100 * 100 for c in cells)  # no slivers left
    keys = [(c.row, c.col) for c in cells]
    assert keys == sorted(keys, key=lambda k: (-k[0], k[1]))  # north rows first, west to east
    first, last = cells[0].geometry.centroid, cells[-1].geometry.centroid
    assert first.y > last.y and first.x < last.x


def test_cut_community_keeps_an_island():
    community = shapely.union(shapely.box(0, 0, 300, 300), shapely.box(1000, 1000, 1010, 1010))
    cells = cut_community(community, 100)
    assert any(c.geometry.area == pytest.approx(100) for c in cells)
    assert sum(c.geometry.area for c in cells) == pytest.approx(community.area)


def test_split_balanced_makes_compact_equal_groups():
    xs, ys = np.meshgrid(np.arange(30), np.arange(20))
    labels = split_balanced(xs.ravel(), ys.ravel(), 12)
    counts = np.bincount(labels)
    assert len(counts) == 12 and counts.max() - counts.min() <= 1
    assert labels[np.argmax(ys.ravel() * 100 - xs.ravel())] == 0  # the north-west corner is in group 0
    for g in range(12):  # each group is a rectangle-ish block: bbox area close to its size
        gx, gy = xs.ravel()[labels == g], ys.ravel()[labels == g]
        assert (np.ptp(gx) + 1) * (np.ptp(gy) + 1) <= counts[g] * 1.5


def test_split_balanced_rejects_too_many_parts():
    with pytest.raises(GridError):
        split_balanced(np.arange(3), np.arange(3), 4)


def _voronoi_index(n: int, seed: int = 3) -> GridIndex:
    rng = np.random.default_rng(seed)
    frame = shapely.box(118.4, 32.4, 118.5, 32.5)
    seeds = shapely.points(118.4 + rng.random(n) * 0.1, 32.4 + rng.random(n) * 0.1)
    cells = shapely.intersection(shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(seeds),
                                                                            extend_to=frame)), frame)
    codes = [f"341122100001{i:03d}" for i in range(n)]
    return GridIndex(codes, cells, ["DG"] * n, [c[:12] for c in codes], [c[:9] for c in codes], [c[:6] for c in codes])


def test_index_agrees_with_exact_point_in_polygon():
    index = _voronoi_index(500)
    rng = np.random.default_rng(9)
    lon, lat = 118.39 + rng.random(200_000) * 0.12, 32.39 + rng.random(200_000) * 0.12
    got = index.locate_many(lon, lat)
    pi, gi = index.tree.query(shapely.points(lon, lat), predicate="intersects")
    expected = np.full(len(lon), 10**9)
    np.minimum.at(expected, pi, gi)
    expected[expected == 10**9] = -1
    assert (got == expected).all()
    assert (got == -1).any() and (got >= 0).mean() > 0.5
    singles = [index.locate_index(x, y) for x, y in zip(lon[:2000], lat[:2000])]
    assert singles == got[:2000].tolist()


def test_index_edge_cases():
    index = _voronoi_index(50)
    assert index.locate(float("nan"), 32.45) is None
    assert index.locate(0.0, 0.0) is None
    place = index.locate(118.45, 32.45)
    assert place is not None and place.community_code == "341122100001"
    assert index.locate_many(np.array([np.nan, 1e300, 118.45]), np.array([32.45, 32.45, 32.45])).tolist()[:2] == [-1, -1]
    empty = GridIndex([], np.array([], dtype=object), [], [], [], [])
    assert empty.locate(118.45, 32.45) is None and empty.locate_many([1.0], [2.0]).tolist() == [-1]
