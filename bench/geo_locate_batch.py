"""geo_locate_batch: batched locate throughput (points/s on one core) over ≥ 10,000 unit grids, and single-point
latency. Baselines (same run, same grids, same points): a plain shapely STRtree point query, the obvious way; and
PostGIS, tuned — the grids cut with ST_Subdivide into small pieces under a GiST index, the points already in a
table (both clustered in space), one set-based ST_Intersects join (what a city running PostGIS would write), measured on a sample of the points.
The PostGIS baseline needs the postgis extension (scripts/system-deps.sh installs it) and a server at
CITYLOOP_BENCH_POSTGIS_URL (default postgresql://postgres@127.0.0.1:5432/postgres), where it creates and drops its
own database cityloop_bench_postgis; without them it is recorded as skipped.

The grids are cut the way `cityloop grids generate` cuts them, from the demo county's schematic communities."""

from __future__ import annotations

import json
import os
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
POSTGIS_POINTS = int(os.environ.get("GEO_BENCH_POSTGIS_POINTS", 200_000))
POSTGIS_URL = os.environ.get("CITYLOOP_BENCH_POSTGIS_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
POSTGIS_DB = "cityloop_bench_postgis"
SUBDIVIDE_VERTICES = 16


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


def postgis(geoms: np.ndarray, lon: np.ndarray, lat: np.ndarray, expect: np.ndarray) -> dict:
    """Points/s of a tuned PostGIS locate over the same grids: subdivided pieces, GiST index, points in a table,
    one join returning each point's grid (the lowest grid number where a point lies on a shared border, as the
    others do). The answers are checked against `expect`."""
    import psycopg

    admin = psycopg.connect(POSTGIS_URL, autocommit=True)
    admin.execute(f"DROP DATABASE IF EXISTS {POSTGIS_DB}")
    admin.execute(f"CREATE DATABASE {POSTGIS_DB}")
    try:
        conninfo = psycopg.conninfo.make_conninfo(POSTGIS_URL, dbname=POSTGIS_DB)
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION postgis")
            version = conn.execute("SELECT postgis_lib_version()").fetchone()[0]
            conn.execute("CREATE TABLE grids (gid integer PRIMARY KEY, geom geometry(Polygon, 4326) NOT NULL)")
            with conn.cursor() as cur, cur.copy("COPY grids (gid, geom) FROM STDIN") as copy:
                for gid, wkb in enumerate(shapely.to_wkb(geoms, hex=True, include_srid=False)):
                    copy.write_row((gid, f"SRID=4326;{wkb}"))
            t = time.perf_counter()
            conn.execute("CREATE TABLE grid_parts AS SELECT gid, ST_Subdivide(geom, %s) AS geom FROM grids",
                         (SUBDIVIDE_VERTICES,))
            conn.execute("CREATE INDEX grid_parts_geom ON grid_parts USING gist (geom)")
            conn.execute("CLUSTER grid_parts USING grid_parts_geom")  # neighbours on neighbouring pages
            conn.execute("ANALYZE grid_parts")
            prep_s = time.perf_counter() - t
            parts = conn.execute("SELECT count(*) FROM grid_parts").fetchone()[0]
            n = len(lon)
            conn.execute("CREATE TABLE points (pid integer PRIMARY KEY, geom geometry(Point, 4326) NOT NULL)")
            t = time.perf_counter()
            with conn.cursor() as cur, cur.copy("COPY points (pid, geom) FROM STDIN") as copy:
                for pid, (x, y) in enumerate(zip(lon.tolist(), lat.tolist())):
                    copy.write_row((pid, f"SRID=4326;POINT({x!r} {y!r})"))
            conn.execute("CREATE INDEX points_geom ON points USING gist (geom)")
            conn.execute("CLUSTER points USING points_geom")
            conn.execute("ANALYZE points")
            load_s = time.perf_counter() - t
            workers = conn.execute("SHOW max_parallel_workers_per_gather").fetchone()[0]
            sql = ("SELECT p.pid, min(g.gid) FROM points p JOIN grid_parts g ON ST_Intersects(g.geom, p.geom) "
                   "GROUP BY p.pid")
            plan = "\n".join(r[0] for r in conn.execute("EXPLAIN " + sql))
            best, got = float("inf"), None
            for _ in range(3):
                t = time.perf_counter()
                rows = conn.execute(sql).fetchall()
                best = min(best, time.perf_counter() - t)
                got = rows
            out = np.full(n, -1, np.int64)
            if got:
                pid, gid = np.array(got, np.int64).T
                out[pid] = gid
            if not (out == expect).all():
                raise SystemExit(f"PostGIS disagrees with the STRtree on {(out != expect).sum()} points")
        return {"points_per_s": round(n / best, 1), "points": n, "version": version, "grid_parts": parts,
                "subdivide_max_vertices": SUBDIVIDE_VERTICES, "subdivide_and_index_s": round(prep_s, 2),
                "points_copy_s": round(load_s, 2), "max_parallel_workers_per_gather": workers,
                "index_used": "grid_parts_geom" in plan}
    finally:
        admin.execute(f"DROP DATABASE IF EXISTS {POSTGIS_DB}")
        admin.close()


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
    reference = strtree()
    baseline = best_rate(strtree, POINTS)
    try:
        pg = postgis(geoms, lon[:POSTGIS_POINTS], lat[:POSTGIS_POINTS], reference[:POSTGIS_POINTS])
        pg["ours_over_postgis"] = round(batched / pg["points_per_s"], 1)
    except Exception as exc:  # noqa: BLE001 - no server or no extension: record why, keep the other numbers
        pg = {"skipped": f"{type(exc).__name__}: {str(exc)[:200]}"}
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
        "postgis": pg, "load": os.getloadavg(),
    }, "none (in-memory index); PostGIS baseline: postgresql")


if __name__ == "__main__":
    main()
