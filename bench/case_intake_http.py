"""case_intake_http: report creates per second over HTTP on SQLite (2 uvicorn workers), with p50/p99.

Baseline, same run, same server: POST /api/v1/cases/check — the same request, authenticated, parsed, located
and categorised, but nothing is written. The difference is what storing a case costs.

Then open-loop steps at rising offered rates (like case_intake_http_postgres; bench/_open_loop.py: requests leave
on a fixed schedule, latency counted from the scheduled time): achieved rate, p50/p99 per step — the latency a
city sees below saturation (target: p99 ≤ 50 ms at 1,000/s offered)."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _http_load import build_county, ensure_wrk, run_wrk, server  # noqa: E402
from common import write_result  # noqa: E402

PORT = int(os.environ.get("BENCH_PORT", "8765"))
DURATION = os.environ.get("BENCH_DURATION", "15s")
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
RATES = [int(r) for r in os.environ.get("BENCH_RATES", "250,500,1000,1500").split(",")]
STEP = os.environ.get("BENCH_STEP", "10s")


def main() -> None:
    wrk = ensure_wrk()
    tmp = Path(tempfile.mkdtemp(prefix="cityloop-bench-"))
    db_url = f"sqlite:///{tmp / 'bench.db'}"
    env = {**os.environ, "CITYLOOP_DATABASE_URL": db_url, "CITYLOOP_DEMO": "1", "CITYLOOP_MEDIA_DIR": str(tmp / "media")}
    points = build_county(db_url, env)
    with server(env, PORT, WORKERS) as token:
        baseline = run_wrk(wrk, PORT, "/api/v1/cases/check", token, points, CONNECTIONS, DURATION)
        created = run_wrk(wrk, PORT, "/api/v1/cases", token, points, CONNECTIONS, DURATION)
        steps = []
        for rate in RATES:
            step = run_wrk(wrk, PORT, "/api/v1/cases", token, points, CONNECTIONS, STEP, rate)
            steps.append({"offered": rate, "create_per_s": step["per_second"], "create_p50_ms": step["p50_ms"],
                          "create_p99_ms": step["p99_ms"], "create_max_ms": step["max_ms"],
                          "create_errors": step["errors"] + step["status"],
                          "client_cpu_us_per_request": step["client_cpu_us_per_request"]})
            print(f"offered {rate}/s: create {step['per_second']}/s p99 {step['p99_ms']} ms", flush=True)
        total = httpx.get(f"http://127.0.0.1:{PORT}/api/v1/cases?size=1",
                          headers={"Authorization": f"Bearer {token}"}).json()["total"]
    write_result("case_intake_http", "cases/s", created["per_second"], True, "cases_check_http_rps",
                 baseline["per_second"],
                 {"p50_ms": created["p50_ms"], "p99_ms": created["p99_ms"], "requests": created["requests"],
                  "non_2xx": created["status"], "socket_errors": created["errors"], "cases_in_db": total,
                  "workers": WORKERS, "connections": CONNECTIONS, "duration": DURATION, "grids": len(points),
                  "baseline_p50_ms": baseline["p50_ms"], "baseline_p99_ms": baseline["p99_ms"], "steps": steps},
                 "sqlite")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
