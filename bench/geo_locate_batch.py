"""geo_locate_batch: batched locate throughput (points/s on one core) over ≥ 10,000 unit grids, and single-point
latency. Baseline (same run, same grids, same points): a plain shapely STRtree point query, the obvious way.

The grids are cut the way `cityloop grids generate` cuts them, from the demo county's schematic communities."""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import write_result  # noqa: E402

from cityloop.demo.regions import region_features  # noqa: E402
from cityloop.geo.coords import gauss_kruger  # noqa: E402
from cityloop.geo.domain import cell_size_for, cut_community, grid_code  # noqa: E402
from cityloop.geo.index import GridIndex  # noqa: E402

MIN_GRIDS = 10_000
POINTS = 1_000_000
SINGLE = 20_000


def make_grids() -> tuple[list[str], np.ndarray]:
    communities = [f for f in region_features()["features"] if f["properties"]["level"] == "community"]
    to_m, to_deg = gauss_kruger(118.5)
    codes, geoms = [], []
    for feature in communities:
        metric = shapely.transform(shapely.from_geojson(json.dumps(feature["geometry"])), to_m)
        cells = cut_community(metric, cell_size_for(metric.area))
        code = feature["properties"]["code"]
        codes += [grid_code(code, i) for i in range(1, len(cells) + 1)]
        geoms += [shapely.transform(c.geometry, to_deg) for c in cells]
        if len(codes) >= MIN_GRIDS:
            break
    return codes, np.array(geoms, dtype=object)


def best_rate(fn, n: int, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return n / best


def main() -> None:
    codes, geoms = make_grids()
    t = time.perf_counter()
    index = GridIndex(codes, geoms, codes, codes, codes, codes)
    build_s = time.perf_counter() - t
    rng = np.random.default_rng(20261125)
    # Points where cases happen: inside the grids, spread evenly over them (a random grid, a random spot in its box).
    bounds = shapely.bounds(geoms)[rng.integers(0, len(geoms), POINTS)]
    lon = rng.uniform(bounds[:, 0], bounds[:, 2])
    lat = rng.uniform(bounds[:, 1], bounds[:, 3])

    def strtree() -> np.ndarray:
        pi, gi = index.tree.query(shapely.points(lon, lat), predicate="intersects")
        out = np.full(POINTS, np.iinfo(np.int64).max)
        np.minimum.at(out, pi, gi)
        out[out == np.iinfo(np.int64).max] = -1
        return out

    if not (index.locate_many(lon, lat) == strtree()).all():  # the fast path must give the exact answer
        raise SystemExit("locate_many disagrees with the STRtree")
    batched = best_rate(lambda: index.locate_many(lon, lat), POINTS)
    baseline = best_rate(strtree, POINTS)
    single = []
    for x, y in zip(lon[:SINGLE], lat[:SINGLE]):
        t = time.perf_counter_ns()
        index.locate(float(x), float(y))
        single.append((time.perf_counter_ns() - t) / 1000)
    single.sort()
    write_result("geo_locate_batch", "points/s", batched, True, "shapely_strtree_points_per_s", baseline, {
        "grids": len(codes), "points": POINTS, "inside_share": round(float((index.locate_many(lon, lat) >= 0).mean()), 3),
        "single_locate_us_p50": round(statistics.median(single), 2),
        "single_locate_us_p99": round(single[int(len(single) * 0.99)], 2),
        "index_build_s": round(build_s, 2), "raster_cells": int(index.labels.size),
        "raster_mixed_share": round(float((index.labels == -2).mean()), 3), "threads": 1,
    }, "none (in-memory index)")


if __name__ == "__main__":
    main()
