"""geocode: queries/s and p95 latency of the geocoder over 10,000 mixed spoken-style queries (door plates, crossings,
town + road, POI gates, typos, missing characters, pinyin initials) against a synthetic 100,000-entry gazetteer
(roads as lines with house-number ranges, door plates, POIs, 12 towns). Target: p95 ≤ 20 ms.

Baseline (same run, same gazetteer): the naive way, a rapidfuzz WRatio scan over every name per query
(process.extractOne), timed on a sample of the queries."""

from __future__ import annotations

import random
import statistics
import sys
import time
from pathlib import Path

import shapely
from rapidfuzz import fuzz, process

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import write_result  # noqa: E402

from cityloop.places import domain  # noqa: E402
from cityloop.places.index import Entry, PlaceIndex, Plate, Road  # noqa: E402

ENTRIES = 100_000
QUERIES = 10_000
BASELINE_QUERIES = 300
TOWNS = ["新安镇", "半塔镇", "水口镇", "汊河镇", "大英镇", "雷官镇", "施官镇", "舜山镇", "三城镇", "独山乡", "张山乡", "杨郢乡"]
CHARS = "永阳建设人民来安新华东西南北中山文化解放幸福和平兴业光明友谊胜利团结长江黄河青年迎宾花园龙泉凤凰金星银杏翠竹"
ROAD_SUFFIX = ["路", "街", "大道", "巷"]
POI_KINDS = ["超市", "小学", "中学", "医院", "诊所", "药店", "农贸市场", "公园", "小区", "银行", "酒店", "派出所"]


def make_gazetteer(rng: random.Random):
    """Roads (a lattice per town), door plates on them, POIs; 100,000 entries in all."""
    roads, plates, entries, regions = [], [], [], []
    n_roads, n_plates = 16_000, 44_000
    n_pois = ENTRIES - n_roads - n_plates - len(TOWNS)
    per_town = n_roads // len(TOWNS)
    names = sorted({a + b + s for a in CHARS for b in CHARS if a != b for s in ROAD_SUFFIX})
    for t, town in enumerate(TOWNS):
        x0, y0 = 118.0 + (t % 4) * 0.2, 32.2 + (t // 4) * 0.2
        regions.append(("street", town, shapely.box(x0, y0, x0 + 0.19, y0 + 0.19)))
        entries.append(Entry("town", town, x0 + 0.095, y0 + 0.095))
        chosen = rng.sample(names, per_town)
        half = per_town // 2
        for k, name in enumerate(chosen):
            # west–east roads and south–north roads, each crossing a few of the others
            f = (k % half + 0.5) / half
            if k < half:
                a = rng.uniform(0, 0.17)
                line = shapely.LineString([(x0 + a, y0 + 0.19 * f), (x0 + a + 0.02, y0 + 0.19 * f)])
            else:
                a = rng.uniform(0, 0.17)
                line = shapely.LineString([(x0 + 0.19 * f, y0 + a), (x0 + 0.19 * f, y0 + a + 0.02)])
            roads.append(Road(name, town, line, (1, 399, 2, 400)))
    for _ in range(n_plates):
        r = rng.choice(roads)
        n = rng.randint(1, 400)
        p = r.line.interpolate((n - 1) / 399, normalized=True)
        plates.append(Plate(r.name, n, r.town, p.x, p.y))
    for i in range(n_pois):
        town = rng.randrange(len(TOWNS))
        x0, y0 = 118.0 + (town % 4) * 0.2, 32.2 + (town // 4) * 0.2
        name = rng.choice(CHARS) + rng.choice(CHARS) + rng.choice(POI_KINDS) + (str(i % 97) if i % 3 == 0 else "")
        entries.append(Entry("poi", name, x0 + rng.uniform(0, 0.19), y0 + rng.uniform(0, 0.19),
                             address=TOWNS[town]))
    return entries, roads, plates, regions


def typo(name: str, rng: random.Random) -> str:
    i = rng.randrange(len(name))
    return name[:i] + rng.choice(CHARS) + name[i + 1:]


def make_queries(index: PlaceIndex, roads, rng: random.Random) -> list[str]:
    """Ten kinds of what callers say, in equal shares."""
    pois = [e for e in index.entries if e.kind == "poi"]
    crossings = list(index.crossings.items())
    out = []
    for k in range(QUERIES):
        r, p = rng.choice(roads), rng.choice(pois)
        match k % 10:
            case 0: out.append(r.name)
            case 1: out.append(f"{r.name}{rng.randint(1, 400)}号")
            case 2:
                (a, b), _ = rng.choice(crossings)
                out.append(f"{a}与{b}交叉口")
            case 3: out.append(f"{r.town} {r.name}")
            case 4: out.append(f"{p.name}东门")
            case 5: out.append(typo(r.name, rng) + f"{rng.randint(1, 400)}号")
            case 6: out.append(r.name[:-1] if len(r.name) > 2 else r.name)  # a missing character
            case 7: out.append(typo(p.name, rng))
            case 8: out.append(domain.initials(r.name))
            case 9: out.append(f"我在{r.town}{r.name}{rng.randint(1, 400)}号门口")
    return out


def main() -> None:
    rng = random.Random(20261203)
    entries, roads, plates, regions = make_gazetteer(rng)
    t = time.perf_counter()
    index = PlaceIndex(entries, roads, plates, regions)
    build_s = time.perf_counter() - t
    size = len(index)
    queries = make_queries(index, roads, rng)
    index.geocode(queries[0])  # warm up
    times, answered = [], 0
    start = time.perf_counter()
    for q in queries:
        t = time.perf_counter_ns()
        answered += bool(index.geocode(q, 10))
        times.append((time.perf_counter_ns() - t) / 1e6)
    total = time.perf_counter() - start
    times.sort()
    p95 = times[int(len(times) * 0.95)]
    names = [e.name for e in index.entries]
    base = []
    for q in queries[:BASELINE_QUERIES]:
        t = time.perf_counter_ns()
        process.extractOne(q, names, scorer=fuzz.WRatio)
        base.append((time.perf_counter_ns() - t) / 1e6)
    base.sort()
    write_result("geocode", "ms p95", p95, False, "rapidfuzz_wratio_full_scan_ms_p95", base[int(len(base) * 0.95)], {
        "entries": size, "roads": len(roads), "door_plates": len(plates), "crossings": len(index.crossings),
        "queries": len(queries), "queries_per_s": round(len(queries) / total, 1),
        "p50_ms": round(statistics.median(times), 3), "p99_ms": round(times[int(len(times) * 0.99)], 3),
        "answered_share": round(answered / len(queries), 3), "index_build_s": round(build_s, 2),
        "baseline_queries": BASELINE_QUERIES, "baseline_p50_ms": round(statistics.median(base), 3),
        "target_p95_ms": 20, "threads": 1,
    }, "none (in-memory index)")


if __name__ == "__main__":
    main()
