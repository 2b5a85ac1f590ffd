"""Run a job in one process only: a PostgreSQL advisory lock, or a file lock beside the SQLite database."""

from __future__ import annotations

import fcntl
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, text


@contextmanager
def only_one(engine: Engine, name: str) -> Iterator[bool]:
    """Yield True if this process holds the named lock, False if another process does."""
    if engine.dialect.name == "postgresql":
        key = zlib.crc32(name.encode())
        with engine.connect() as conn:
            got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar()
            try:
                yield bool(got)
            finally:
                if got:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()
        return
    db_path = engine.url.database or "memory"
    lock_path = Path(f"{db_path}.{name}.lock") if db_path != "memory" and db_path != ":memory:" else Path(f"/tmp/cityloop.{name}.lock")
    with open(lock_path, "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
