"""The server's WAL checkpointer keeps SQLite's write-ahead log short without the writers checkpointing."""

from __future__ import annotations

import os
import sqlite3
import time

from cityloop.db.checkpoint import WalCheckpointer


def _write(path: str, checkpointer: WalCheckpointer | None) -> int:
    """40 commits of 100 KB by a writer that never checkpoints itself; the largest size the log reached."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA wal_autocheckpoint=0")
    conn.execute("CREATE TABLE IF NOT EXISTS t (b BLOB)")
    if checkpointer is not None:
        checkpointer.start()
    largest = 0
    try:
        for _ in range(40):
            conn.execute("INSERT INTO t VALUES (randomblob(100000))")
            largest = max(largest, os.path.getsize(path + "-wal"))
            time.sleep(0.03)
    finally:
        if checkpointer is not None:
            checkpointer.stop()
        conn.close()
    return largest


def test_the_log_stays_short_while_a_checkpointer_runs(tmp_path):
    alone = _write(str(tmp_path / "alone.db"), None)
    path = str(tmp_path / "checked.db")
    checked = _write(path, WalCheckpointer(path, interval=0.01))
    assert alone > 4_000_000  # every commit appended to the log
    assert checked < alone / 4  # checkpointed in the background, the log was reused from its start


def test_stop_without_start_and_twice():
    c = WalCheckpointer("/nonexistent/x.db")
    c.stop()
    c.stop()
