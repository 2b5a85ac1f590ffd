"""WAL checkpoints off the write path (SQLite).

By default the commit that takes SQLite's write-ahead log past 1,000 pages copies the log into the database file
and syncs it, while the report batch that committed waits: every few thousand reports one batch takes tens of
milliseconds longer (the intake's p99). A server process checkpoints instead in a thread of its own, often and
PASSIVE (never waiting for, nor blocking, readers or writers), so a commit seldom finds the log that long."""

from __future__ import annotations

import logging
import sqlite3
import threading

log = logging.getLogger("cityloop.checkpoint")


class WalCheckpointer:
    """A daemon thread that runs PRAGMA wal_checkpoint(PASSIVE) on `path` every `interval` seconds."""

    def __init__(self, path: str, interval: float = 0.25) -> None:
        self.path, self.interval = path, interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start checkpointing (once)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="cityloop-wal-checkpoint", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop the thread and close its connection."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        conn = sqlite3.connect(self.path, timeout=0, check_same_thread=False)
        try:
            while not self._stop.wait(self.interval):
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error as exc:  # busy or locked for a moment: the next round takes it
                    log.debug("checkpoint skipped: %s", exc)
        finally:
            conn.close()


def start_checkpointing(database_url: str) -> WalCheckpointer | None:
    """A running WalCheckpointer for a SQLite file (a server, the scheduler, a gateway); None on PostgreSQL."""
    from cityloop.db import sqlite_path

    path = sqlite_path(database_url)
    if path is None:
        return None
    checkpointer = WalCheckpointer(path)
    checkpointer.start()
    return checkpointer
