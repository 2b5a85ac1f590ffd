"""category_suggest: p95 latency and queries/s of the category suggestion (jieba tokens, BM25 over the 250
GB/T 47678.5-2026 matters' names, filing conditions and the synonym table) over 5,000 colloquial descriptions
made from the held-out set with random lead-ins and tails. Target: p95 ≤ 10 ms.

Baseline (same run, same queries): the naive way, a scan of every matter name counting the query's characters
bigrams found in it. Accuracy (top-1/top-3) of both on the held-out set goes into params."""

from __future__ import annotations

import csv
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import write_result  # noqa: E402

from cityloop.catalog.service import catalog_specs  # noqa: E402
from cityloop.catalog.suggest_domain import MatterText, SuggestIndex, read_synonyms  # noqa: E402

QUERIES = 5_000
HELDOUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "suggest_heldout.tsv"
LEADS = ["", "你好，我要反映一下，", "喂，", "我们小区", "在永阳东路和建设路路口，", "麻烦你们管管，"]
TAILS = ["", "，已经好几天了", "，请尽快处理", "，太危险了！", "，没人管", "。谢谢"]


def naive(names: list[tuple[str, str]], text: str, limit: int = 3) -> list[str]:
    """Names holding the most of the query's bigrams."""
    grams = {text[i:i + 2] for i in range(len(text) - 1)}
    scored = [(sum(g in name for g in grams), code) for code, name in names]
    return [code for s, code in sorted(scored, key=lambda x: (-x[0], x[1]))[:limit] if s]


def accuracy(rank, rows) -> tuple[float, float]:
    top1 = top3 = 0
    for text, code in rows:
        codes = rank(text)
        top1 += codes[:1] == [code]
        top3 += code in codes[:3]
    return top1 / len(rows), top3 / len(rows)


def main() -> None:
    specs = [s for s in catalog_specs("GB/T 47678.5-2026") if s.kind == "matter"]
    t = time.perf_counter()
    index = SuggestIndex.build([MatterText(s.code, s.name, s.major_name, tuple(c.description for c in s.conditions))
                                for s in specs], read_synonyms())
    build_s = time.perf_counter() - t
    rows = [r[:2] for r in csv.reader(HELDOUT.open(encoding="utf-8"), delimiter="\t") if r and r[0][0] != "#"]
    rng = random.Random(15)
    queries = [rng.choice(LEADS) + rng.choice(rows)[0] + rng.choice(TAILS) for _ in range(QUERIES)]
    index.suggest(queries[0])  # warm up
    times = []
    start = time.perf_counter()
    for q in queries:
        t = time.perf_counter_ns()
        index.suggest(q, 5)
        times.append((time.perf_counter_ns() - t) / 1e6)
    total = time.perf_counter() - start
    times.sort()
    names = [(s.code, s.name) for s in specs]
    base = []
    for q in queries:
        t = time.perf_counter_ns()
        naive(names, q)
        base.append((time.perf_counter_ns() - t) / 1e6)
    base.sort()
    top1, top3 = accuracy(lambda x: [s.code for s in index.suggest(x, 3)], rows)
    b1, b3 = accuracy(lambda x: naive(names, x), rows)
    write_result("category_suggest", "ms p95", times[int(len(times) * 0.95)], False, "naive_bigram_name_scan_ms_p95",
                 base[int(len(base) * 0.95)], {
                     "matters": len(specs), "synonyms": len(read_synonyms()), "queries": len(queries),
                     "queries_per_s": round(len(queries) / total, 1), "p50_ms": round(statistics.median(times), 3),
                     "p99_ms": round(times[int(len(times) * 0.99)], 3), "index_build_s": round(build_s, 2),
                     "heldout": len(rows), "heldout_top1": round(top1, 3), "heldout_top3": round(top3, 3),
                     "baseline_top1": round(b1, 3), "baseline_top3": round(b3, 3),
                     "baseline_p50_ms": round(statistics.median(base), 3), "target_p95_ms": 10, "threads": 1,
                 }, "none (in-memory index)")


if __name__ == "__main__":
    main()
