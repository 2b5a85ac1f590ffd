"""PostgreSQL read sessions: READ ONLY transactions on the write pool that end in COMMIT, so psycopg keeps the
statements it prepared on a pooled connection (a ROLLBACK makes it DEALLOCATE ALL); a failed one still rolls back."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from cityloop.config import Settings
from cityloop.db import make_engine, make_read_session_factory, make_session_factory
from cityloop.runtime import build_state


@pytest.fixture
def pg_engine(db_url):
    if not db_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only (CITYLOOP_TEST_DATABASE_URL)")
    engine = make_engine(db_url, pool_size=1, max_overflow=0)  # one connection: every session shares it
    yield engine
    engine.dispose()


def _prepared(engine) -> int:
    with make_read_session_factory(engine)() as s:  # (a write session closed without commit would roll back)
        return s.execute(text("SELECT count(*) FROM pg_prepared_statements")).scalar_one()


def test_a_read_session_keeps_the_pools_prepared_statements(pg_engine):
    writes, reads = make_session_factory(pg_engine), make_read_session_factory(pg_engine)
    with writes() as s:
        for _ in range(6):  # psycopg prepares a statement on its fifth run
            s.execute(text("SELECT 1 + :x"), {"x": 1})
        s.commit()
    before = _prepared(pg_engine)
    assert before >= 1
    for _ in range(3):
        with reads() as r:
            for _ in range(6):
                r.execute(text("SELECT 2 + :x"), {"x": 1})
            assert r.execute(text("SHOW transaction_read_only")).scalar_one() == "on"
    assert _prepared(pg_engine) == before + 1  # nothing deallocated; the read's statement prepared once
    with writes() as s:  # the connection went back to the pool writable
        assert s.execute(text("SHOW transaction_read_only")).scalar_one() == "off"


def test_a_read_session_cannot_write_and_a_failed_one_rolls_back(pg_engine):
    reads = make_read_session_factory(pg_engine)
    with reads() as r:
        with pytest.raises(DBAPIError, match="read-only transaction"):
            r.execute(text("INSERT INTO case_number_seq (day, last) VALUES ('19700101', 1)"))
        r.rollback()
        assert r.execute(text("SELECT 1")).scalar_one() == 1
    with make_session_factory(pg_engine)() as s:  # the pooled connection is clean and usable
        assert s.execute(text("SELECT count(*) FROM case_number_seq WHERE day = '19700101'")).scalar_one() == 0


def test_build_state_gives_postgresql_a_read_only_read_factory(db_url, tmp_path):
    if not db_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only (CITYLOOP_TEST_DATABASE_URL)")
    state = build_state(Settings(database_url=db_url, demo=True, media_dir=tmp_path, scheduler_in_server=False))
    try:
        assert state.read_session_factory is not state.session_factory
        with state.read_session_factory() as r:
            assert r.execute(text("SHOW transaction_read_only")).scalar_one() == "on"
        with state.session_factory() as s:
            assert s.execute(text("SHOW transaction_read_only")).scalar_one() == "off"
    finally:
        state.engine.dispose()


def test_after_a_read_session_writes_follow_the_servers_default_again(db_url):
    if not db_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only (CITYLOOP_TEST_DATABASE_URL)")
    engine = make_engine(db_url, pool_size=1, max_overflow=0,
                         connect_args={"options": "-c default_transaction_read_only=on"})  # maintenance, full disk
    try:
        with make_read_session_factory(engine)() as r:
            r.execute(text("SELECT 1"))
        with make_session_factory(engine)() as s:  # not BEGIN … READ WRITE: the server's read-only default holds
            assert s.execute(text("SHOW transaction_read_only")).scalar_one() == "on"
    finally:
        engine.dispose()
