"""Shared benchmark plumbing: the result file format of ARCHITECTURE.md."""

from __future__ import annotations

import json
import os
import platform
from datetime import datetime, timezone
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def write_result(name: str, unit: str, value: float, higher_is_better: bool, baseline_name: str,
                 baseline_value: float, params: dict, db: str) -> dict:
    """Write bench/results/<name>.json and return the document."""
    doc = {
        "name": name, "unit": unit, "value": round(value, 3), "higher_is_better": higher_is_better,
        "baseline": {"name": baseline_name, "value": round(baseline_value, 3)},
        "params": params,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "db": db},
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
    print(json.dumps(doc, ensure_ascii=False))
    return doc
