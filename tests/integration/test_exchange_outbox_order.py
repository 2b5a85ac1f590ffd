"""On PostgreSQL, outbox writers take turns until they commit, so outbox ids are in commit order: the sender sends
and acknowledges in id order and must never pass over a row that is still being written."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import delete, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from cityloop.exchange import records
from cityloop.exchange.models import OutboxRow

AT = datetime(2026, 12, 4, 9, tzinfo=timezone.utc)


def _queue(session: Session, key: str) -> None:
    records._queue(session, "341122", "component.census", key, "c", {"n": 1}, AT)
    session.flush()


def test_a_second_outbox_writer_waits_until_the_first_commits(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite writers take turns on the database's write lock")
    try:
        with Session(engine) as first, Session(engine) as second:
            _queue(first, "first")
            second.execute(text("SET LOCAL lock_timeout = '300ms'"))
            with pytest.raises(OperationalError, match="lock timeout"):
                _queue(second, "second")  # would take the next id and might commit before the first
            second.rollback()
            first.commit()
            _queue(second, "second")
            second.commit()
        with Session(engine) as s:
            rows = s.execute(text("SELECT body->>'key' FROM exchange_outbox ORDER BY id")).scalars().all()
        assert rows[-2:] == ["first", "second"]
    finally:
        with Session(engine) as s:
            s.execute(delete(OutboxRow))
            s.commit()
