"""Shared benchmark plumbing: the result file format of ARCHITECTURE.md."""

from __future__ import annotations

import json
import os
import platform
import time
from datetime import datetime, timezone
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def python_loop_ns() -> float:
    """Nanoseconds per turn of a plain Python loop, best of three: how fast this machine ran Python at the time
    of the result (shared virtual machines differ several-fold from day to day), to compare results across runs."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        total = 0
        for i in range(1_000_000):
            total += i
        best = min(best, time.perf_counter() - started)
    return round(best * 1000, 1)


def write_result(name: str, unit: str, value: float, higher_is_better: bool, baseline_name: str,
                 baseline_value: float, params: dict, db: str) -> dict:
    """Write bench/results/<name>.json and return the document."""
    doc = {
        "name": name, "unit": unit, "value": round(value, 3), "higher_is_better": higher_is_better,
        "baseline": {"name": baseline_name, "value": round(baseline_value, 3)},
        "params": params,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "db": db,
                    "python_loop_ns": python_loop_ns()},
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
    print(json.dumps(doc, ensure_ascii=False))
    return doc
