"""assessment_month_postgres: the full monthly assessment (all nine object kinds: sums, rates, scores, grades,
ranks and rank changes) over a month of 1,000,000 cases on PostgreSQL, in seconds. Baseline (same run, same
rows): pandas.read_sql of the period and groupby sums per kind.

Uses the database h_assess_bench (CITYLOOP_BENCH_POSTGRES_URL to change), created when missing and emptied."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _assessment_data as data  # noqa: E402
from common import write_result  # noqa: E402

from cityloop.config import Settings  # noqa: E402
from cityloop.db import make_engine, make_session_factory  # noqa: E402
from cityloop.db.migrate import upgrade  # noqa: E402

URL = os.environ.get("CITYLOOP_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/h_assess_bench")


def fresh_database(url: str) -> None:
    """Create the benchmark database if it is missing, and empty it."""
    conninfo = url.replace("postgresql+psycopg://", "postgresql://")
    base, name = conninfo.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
        conn.execute("CREATE SCHEMA public")


def load(url: str, cols) -> None:
    conninfo = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo) as conn, conn.cursor() as cur:
        with cur.copy(f"COPY assess_case_stats ({', '.join(data.COLUMNS)}) FROM STDIN") as copy:
            rows = data.rows(cols, hex_bytes=True)
            for i in range(0, len(rows), 100_000):
                copy.write("".join("\t".join(map(str, r)) + "\n" for r in rows[i:i + 100_000]))
        conn.commit()
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE assess_case_stats")


def main() -> None:
    fresh_database(URL)
    upgrade(URL)
    settings = Settings(database_url=URL, demo=True)
    engine = make_engine(URL)
    with make_session_factory(engine)() as session:
        data.objects(session)
        session.commit()
    t = time.perf_counter()
    load(URL, data.generate())
    load_s = time.perf_counter() - t
    with make_session_factory(engine)() as session:
        best, runs, ours = data.timed(lambda: data.assess(session, settings))
    with engine.connect() as conn:
        base_best, base_runs, baseline = data.timed(lambda: data.assess_pandas(conn, settings), repeat=2)
    data.check_same(ours, baseline)
    engine.dispose()
    write_result("assessment_month_postgres", "s", best, False, "pandas_read_sql_groupby_s", base_best,
                 data.params(runs, data.CASES, base_runs) | {"load_s": round(load_s, 1)}, "postgresql")


if __name__ == "__main__":
    main()
