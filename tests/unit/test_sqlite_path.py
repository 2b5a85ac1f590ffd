"""sqlite_path: which database URLs name a SQLite file (its WAL checkpointer, write lock and change stamps)."""

from __future__ import annotations

import pytest

from cityloop.db import sqlite_path


@pytest.mark.parametrize(("url", "path"), [
    ("sqlite:///var/cityloop.db", "var/cityloop.db"),
    ("sqlite:////srv/cityloop/city.db", "/srv/cityloop/city.db"),
    ("sqlite+pysqlite:///demo.db", "demo.db"),
    ("sqlite://", None),  # in memory
    ("sqlite:///:memory:", None),
    ("sqlite:///file:shared?mode=memory&uri=true", None),
    ("postgresql+psycopg://postgres@127.0.0.1:5432/test", None),
])
def test_a_sqlite_file_and_nothing_else_has_a_path(url: str, path: str | None) -> None:
    assert sqlite_path(url) == path
