"""case_intake_http_postgres: report creates over HTTP on PostgreSQL with 4 uvicorn workers at rising offered
rates — achieved throughput, p50/p99 and errors per step — beside the same endpoint with no database work
(POST /api/v1/cases/check) at the same rates, measured in the same run. The headline value is the highest
achieved create rate among the steps that had no errors."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _http_load import build_county, ensure_wrk, run_wrk, server  # noqa: E402
from common import write_result  # noqa: E402

BASE = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
DATABASE = "cityloop_bench_intake"
PORT = int(os.environ.get("BENCH_PORT", "8766"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "4"))
RATES = [int(r) for r in os.environ.get("BENCH_RATES", "250,500,1000,1500,2000,3000").split(",")]
STEP = os.environ.get("BENCH_STEP", "10s")
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "64"))


def fresh_database() -> str:
    admin = create_engine(BASE, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {DATABASE}"))
    admin.dispose()
    return BASE.rsplit("/", 1)[0] + "/" + DATABASE


def main() -> None:
    wrk = ensure_wrk()
    url = fresh_database()
    env = {**os.environ, "CITYLOOP_DATABASE_URL": url, "CITYLOOP_DEMO": "1", "CITYLOOP_MEDIA_DIR": "/tmp/cl-bench-media"}
    points = build_county(url, env)
    steps = []
    with server(env, PORT, WORKERS) as token:
        for path in ("/api/v1/cases/check", "/api/v1/cases"):  # warm every worker's caches and pools first
            run_wrk(wrk, PORT, path, token, points, CONNECTIONS, "3s")
        for rate in RATES:
            check = run_wrk(wrk, PORT, "/api/v1/cases/check", token, points, CONNECTIONS, STEP, rate)
            create = run_wrk(wrk, PORT, "/api/v1/cases", token, points, CONNECTIONS, STEP, rate)
            steps.append({"offered": rate, "create": create, "check": check})
            print(f"offered {rate}/s: create {create['per_second']}/s p99 {create['p99_ms']} ms "
                  f"errors {create['errors'] + create['status']}; check {check['per_second']}/s", flush=True)
    clean = [s for s in steps if s["create"]["errors"] + s["create"]["status"] == 0]
    best = max(clean or steps, key=lambda s: s["create"]["per_second"])
    write_result("case_intake_http_postgres", "cases/s", best["create"]["per_second"], True,
                 "cases_check_http_rps", best["check"]["per_second"],
                 {"workers": WORKERS, "connections": CONNECTIONS, "step": STEP, "grids": len(points),
                  "steps": [{"offered": s["offered"], "create_per_s": s["create"]["per_second"],
                             "create_p50_ms": s["create"]["p50_ms"], "create_p99_ms": s["create"]["p99_ms"],
                             "create_errors": s["create"]["errors"] + s["create"]["status"],
                             "check_per_s": s["check"]["per_second"], "check_p50_ms": s["check"]["p50_ms"],
                             "check_p99_ms": s["check"]["p99_ms"]} for s in steps]}, "postgresql")


if __name__ == "__main__":
    main()
