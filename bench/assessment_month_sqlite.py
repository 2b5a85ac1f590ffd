"""assessment_month_sqlite: the full monthly assessment (all nine object kinds: sums, rates, scores, grades,
ranks and rank changes) over a month of 1,000,000 cases on SQLite, in seconds. Baseline (same run, same rows):
pandas.read_sql of the period and groupby sums per kind."""

from __future__ import annotations

import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _assessment_data as data  # noqa: E402
from common import write_result  # noqa: E402

from cityloop.config import Settings  # noqa: E402
from cityloop.db import make_engine, make_session_factory  # noqa: E402
from cityloop.db.migrate import upgrade  # noqa: E402


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        url = f"sqlite:///{path}"
        upgrade(url)
        settings = Settings(database_url=url, demo=True)
        engine = make_engine(url)
        with make_session_factory(engine)() as session:
            data.objects(session)
            session.commit()
        t = time.perf_counter()
        cols = data.generate()
        raw = sqlite3.connect(path)
        raw.executemany(f"INSERT INTO assess_case_stats ({', '.join(data.COLUMNS)}) "
                        f"VALUES ({', '.join('?' * len(data.COLUMNS))})", data.rows(cols))
        raw.commit()
        # A steady-state database: the projection is written in small batches, so SQLite's automatic checkpoints
        # keep the WAL short; one bulk load would leave every page in the WAL until this checkpoint.
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        raw.close()
        load_s = time.perf_counter() - t
        reader = make_engine(url, readonly=True)
        with make_session_factory(reader)() as session:
            best, runs, ours = data.timed(lambda: data.assess(session, settings))
        with reader.connect() as conn:
            base_best, base_runs, baseline = data.timed(lambda: data.assess_pandas(conn, settings), repeat=2)
        data.check_same(ours, baseline)
        reader.dispose()
        engine.dispose()
        write_result("assessment_month_sqlite", "s", best, False, "pandas_read_sql_groupby_s", base_best,
                     data.params(runs, data.CASES, base_runs) | {"load_s": round(load_s, 1),
                                                                 "db_mb": round(path.stat().st_size / 2**20)},
                     "sqlite")


if __name__ == "__main__":
    main()
