"""case_intake_http_postgres: report creates over HTTP on PostgreSQL with 2 API workers (one per core) at rising offered
rates — achieved throughput, p50/p99 and errors per step — beside the same endpoint with no database work
(POST /api/v1/cases/check) at the same rates. The headline value is the highest achieved create rate among the
steps that had no errors.

Baseline, same run: the SQLite server of case_intake_http (2 workers), up at the same time and driven the same
way in alternating steps, at the same rates and as fast as it goes; the headline baseline is its highest clean
create rate."""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _http_load import analyze, build_county, ensure_wrk, fresh_postgres, run_wrk, server  # noqa: E402
from common import write_result  # noqa: E402

DATABASE = os.environ.get("BENCH_PG_DATABASE", "cityloop_bench_intake")
PORT = int(os.environ.get("BENCH_PORT", "8766"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
SQLITE_WORKERS = int(os.environ.get("BENCH_SQLITE_WORKERS", "2"))
RATES = [int(r) for r in os.environ.get("BENCH_RATES", "250,500,1000,1500,2000").split(",")]
STEP = os.environ.get("BENCH_STEP", "10s")
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "64"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))


def step(wrk: str, port: int, token: str, points, rate: int | None, check: bool) -> dict:
    """One offered rate (None: as fast as it goes) on one server: creates, and the no-database check."""
    probe = run_wrk(wrk, port, "/api/v1/cases/check", token, points, CONNECTIONS, STEP, rate) if check else None
    create = run_wrk(wrk, port, "/api/v1/cases", token, points, CONNECTIONS, STEP, rate)
    return {"offered": rate, "create": create, "check": probe}


def env_for(url: str, media: Path) -> dict:
    return {**os.environ, "CITYLOOP_DATABASE_URL": url, "CITYLOOP_DEMO": "1", "CITYLOOP_MEDIA_DIR": str(media)}


def median_rate(steps: list[dict]) -> float:
    """The median create rate of the as-fast-as-it-goes rounds."""
    return statistics.median(s["create"]["per_second"] for s in steps if s["offered"] is None)


def table(steps: list[dict]) -> list[dict]:
    rows = []
    for s in steps:
        row = {"offered": s["offered"] or "max", "create_per_s": s["create"]["per_second"],
               "create_p50_ms": s["create"]["p50_ms"], "create_p99_ms": s["create"]["p99_ms"],
               "create_errors": s["create"]["errors"] + s["create"]["status"]}
        if s["check"]:
            row |= {"check_per_s": s["check"]["per_second"], "check_p50_ms": s["check"]["p50_ms"],
                    "check_p99_ms": s["check"]["p99_ms"]}
        rows.append(row)
    return rows


def main() -> None:
    wrk = ensure_wrk()
    tmp = Path(tempfile.mkdtemp(prefix="cityloop-bench-"))
    pg_env, lite_env = env_for(fresh_postgres(DATABASE), tmp / "media-pg"), env_for(f"sqlite:///{tmp / 'b.db'}",
                                                                                   tmp / "media-lite")
    points = build_county(pg_env["CITYLOOP_DATABASE_URL"], pg_env)
    build_county(lite_env["CITYLOOP_DATABASE_URL"], lite_env)
    pg, lite = [], []
    try:  # both servers up at once, steps alternating, so a shared machine's load falls on both alike
        with server(pg_env, PORT, WORKERS) as pg_token, server(lite_env, PORT + 1, SQLITE_WORKERS) as lite_token:
            for port, token in ((PORT, pg_token), (PORT + 1, lite_token)):  # warm every worker's caches and pools
                for path in ("/api/v1/cases/check", "/api/v1/cases"):
                    run_wrk(wrk, port, path, token, points, CONNECTIONS, "3s")
            analyze(pg_env["CITYLOOP_DATABASE_URL"])
            for rate in [*RATES, *[None] * ROUNDS]:
                pg.append(step(wrk, PORT, pg_token, points, rate, True))
                lite.append(step(wrk, PORT + 1, lite_token, points, rate, False))
                print(f"offered {rate or 'max'}/s: postgresql {pg[-1]['create']['per_second']}/s p99 "
                      f"{pg[-1]['create']['p99_ms']} ms; sqlite {lite[-1]['create']['per_second']}/s p99 "
                      f"{lite[-1]['create']['p99_ms']} ms", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    top, base = median_rate(pg), median_rate(lite)
    write_result("case_intake_http_postgres", "cases/s", top, True, "case_intake_http_sqlite_same_run", base,
                 {"workers": WORKERS, "sqlite_workers": SQLITE_WORKERS, "connections": CONNECTIONS, "step": STEP,
                  "rounds": ROUNDS, "ratio_to_sqlite": round(top / max(base, 1e-9), 3),
                  "best_check_per_s": max(s["check"]["per_second"] for s in pg),
                  "steps": table(pg), "sqlite_steps": table(lite)}, "postgresql")


if __name__ == "__main__":
    main()
