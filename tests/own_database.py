"""A database of a test's own, for tests whose processes share one (servers, gateways, backups, several hosts):
a file on SQLite, or a new PostgreSQL database beside the session's test database, dropped afterwards."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, make_url, text


@contextmanager
def own_database(directory: Path, label: str) -> Iterator[str]:
    """The URL of an empty database of the kind under test (CITYLOOP_TEST_DATABASE_URL: PostgreSQL, else SQLite)."""
    base = os.environ.get("CITYLOOP_TEST_DATABASE_URL", "")
    if not base.startswith("postgresql"):
        yield f"sqlite:///{directory / f'{label}.db'}"
        return
    url = make_url(base)
    name = f"cl_{label}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
