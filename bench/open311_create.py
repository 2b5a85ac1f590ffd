"""open311_create: Open311 GeoReport v2 POST Service Request (form-encoded) creates per second over HTTP, on SQLite
and on PostgreSQL (results open311_create and open311_create_postgres).

Baseline, same run, same server, same reports: POST /api/v1/cases (the core API's JSON). Both are driven closed-loop
as fast as they go, in alternating rounds so that a shared machine's load hits both alike; the value is the median
round. An Open311 create is the core intake plus the channel's row (tracking code, extras) in the same transaction.
BENCH_DBS picks the backends (default "sqlite,postgresql")."""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _http_load import OPEN311_BODY, analyze, build_county, ensure_wrk, fresh_postgres, run_wrk, server  # noqa: E402
from common import write_result  # noqa: E402

PORT = int(os.environ.get("BENCH_PORT", "8767"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
DURATION = os.environ.get("BENCH_DURATION", "8s")
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
DATABASE = os.environ.get("BENCH_PG_DATABASE", "cityloop_bench_open311")


def measure(wrk: str, url: str, media: Path, db: str) -> None:
    env = {**os.environ, "CITYLOOP_DATABASE_URL": url, "CITYLOOP_DEMO": "1", "CITYLOOP_MEDIA_DIR": str(media)}
    points = build_county(url, env)
    core, open311 = [], []
    with server(env, PORT, WORKERS) as token:
        run_wrk(wrk, PORT, "/api/v1/cases", token, points, CONNECTIONS, "3s")  # warm caches and pools
        run_wrk(wrk, PORT, "/open311/v2/requests.json", token, points, CONNECTIONS, "3s", body=OPEN311_BODY)
        analyze(url)
        for _ in range(ROUNDS):
            core.append(run_wrk(wrk, PORT, "/api/v1/cases", token, points, CONNECTIONS, DURATION))
            open311.append(run_wrk(wrk, PORT, "/open311/v2/requests.json", token, points, CONNECTIONS, DURATION,
                                   body=OPEN311_BODY))
            print(f"{db}: core {core[-1]['per_second']}/s, open311 {open311[-1]['per_second']}/s", flush=True)

    def median(runs: list[dict], field: str) -> float:
        return statistics.median(r[field] for r in runs)

    name = "open311_create" if db == "sqlite" else "open311_create_postgres"
    write_result(name, "requests/s", median(open311, "per_second"), True, "core_api_creates_per_s",
                 median(core, "per_second"),
                 {"workers": WORKERS, "connections": CONNECTIONS, "duration": DURATION, "rounds": ROUNDS,
                  "open311_p50_ms": median(open311, "p50_ms"), "open311_p99_ms": median(open311, "p99_ms"),
                  "core_p50_ms": median(core, "p50_ms"), "core_p99_ms": median(core, "p99_ms"),
                  "open311_errors": sum(r["errors"] + r["status"] for r in open311),
                  "core_errors": sum(r["errors"] + r["status"] for r in core),
                  "open311_rounds": [r["per_second"] for r in open311], "core_rounds": [r["per_second"] for r in core],
                  "ratio": round(median(open311, "per_second") / max(median(core, "per_second"), 1e-9), 3)}, db)


def main() -> None:
    wrk = ensure_wrk()
    for db in os.environ.get("BENCH_DBS", "sqlite,postgresql").split(","):
        tmp = Path(tempfile.mkdtemp(prefix="cityloop-bench-"))
        url = f"sqlite:///{tmp / 'bench.db'}" if db == "sqlite" else fresh_postgres(DATABASE)
        try:
            measure(wrk, url, tmp / "media", db)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
