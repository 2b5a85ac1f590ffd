"""One writer at a time on a SQLite file, across threads and worker processes, without SQLite's busy sleeps.

SQLite admits one writer; when two processes race for the lock, the loser's busy handler sleeps in steps of up
to 100 ms, which ruins latency under load. Writers therefore queue on a lock of their own first — a process-wide
threading lock, then an flock() on a file beside the database that the kernel hands over at once — and only
then run BEGIN IMMEDIATE. The lock is released after COMMIT or ROLLBACK has finished. A write session must
therefore never wait on another write session of the same process (side queries use the read session);
if it does, the wait ends after `timeout` seconds with WriteLockTimeout instead of hanging.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading

_process_locks: dict[str, threading.Lock] = {}
_guard = threading.Lock()


class WriteLockTimeout(sqlite3.OperationalError):
    """Waited too long for the write lock (the database is busy)."""


def _process_lock(path: str) -> threading.Lock:
    with _guard:
        return _process_locks.setdefault(path, threading.Lock())


class WriterConnection(sqlite3.Connection):
    """A sqlite3 connection whose transactions start under the file's write lock (lock_path set per subclass)."""

    lock_path: str = ""
    timeout: float = 30.0
    _lock_fd: int | None  # the lock file, opened on the first write (declared only: read with getattr)

    def begin_write(self) -> None:
        """Take the write lock, then BEGIN IMMEDIATE."""
        lock = _process_lock(self.lock_path)
        if not lock.acquire(timeout=self.timeout):
            raise WriteLockTimeout("database is busy: timed out waiting for the write lock (is another write "
                                   "session of this process still open — a nested write?)")
        try:
            fd = getattr(self, "_lock_fd", None)
            if fd is None:
                fd = self._lock_fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(fd, fcntl.LOCK_EX)
        except BaseException:
            lock.release()
            raise
        self._locked = True
        try:
            self.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._release()
            raise

    def _release(self) -> None:
        if getattr(self, "_locked", False):
            self._locked = False
            assert self._lock_fd is not None  # locked: the lock file is open
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            _process_lock(self.lock_path).release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._release()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._release()

    def close(self) -> None:
        try:
            self._release()
            fd = getattr(self, "_lock_fd", None)
            if fd is not None:
                os.close(fd)
                self._lock_fd = None
        finally:
            super().close()


def writer_factory(db_path: str, timeout: float) -> type[WriterConnection]:
    """A WriterConnection class bound to the lock file of one database."""
    return type("WriterConnection", (WriterConnection,), {"lock_path": f"{db_path}.write.lock", "timeout": timeout})
