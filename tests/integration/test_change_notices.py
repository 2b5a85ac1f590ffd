"""Change notices: an announcement drops the cache in this process at once and, on PostgreSQL, in every other
process listening on the same database, and on a SQLite file in every process of its host (two buses here
stand for two processes)."""

from __future__ import annotations

import time

import pytest

from cityloop.db.changes import EVERYTHING, POLL_SECONDS, ChangeBus


def test_an_announcement_runs_this_process_handlers_at_once(engine):
    bus, seen = ChangeBus(engine), []
    bus.on("actor", seen.append)
    bus.on("actor", lambda _: 1 / 0)  # a broken handler is logged; the others still run
    bus.announce("actor", 7)
    bus.announce("calendar")
    assert seen == ["7"]


def test_another_process_hears_it_through_postgresql(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("LISTEN/NOTIFY needs PostgreSQL; SQLite is one host")
    here, there, heard = ChangeBus(engine), ChangeBus(engine), []
    there.on("catalog", heard.append)
    there.start()
    try:
        assert there.listening.wait(10)
        assert heard == [EVERYTHING]  # (re)connecting drops everything: notices may have been missed
        here.announce("catalog", "GB/T 47678.5-2026")
        deadline = time.monotonic() + 5
        while len(heard) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert heard == [EVERYTHING, "GB/T 47678.5-2026"]
    finally:
        there.stop()
    assert not there.listening.is_set()


def test_another_process_on_a_sqlite_file_hears_it_through_the_topic_stamp(tmp_path):
    from cityloop.db import make_engine

    url = f"sqlite:///{tmp_path / 'one-host.db'}"
    here, there, heard = ChangeBus(make_engine(url)), ChangeBus(make_engine(url)), []
    there.on("catalog", heard.append)
    there.start()
    try:
        assert there.listening.wait(10)
        assert heard == []  # nothing changed since it started
        here.announce("catalog", "GB/T 47678.5-2026")
        deadline = time.monotonic() + 5
        while not heard and time.monotonic() < deadline:
            time.sleep(0.05)
        assert heard == [EVERYTHING]  # a stamp says the topic changed, not what in it
        here.announce("calendar")  # a topic it has no handler for
        time.sleep(3 * POLL_SECONDS)
        assert heard == [EVERYTHING]
    finally:
        there.stop()
    assert not there.listening.is_set()


def test_an_in_memory_database_has_no_other_process_to_hear():
    from sqlalchemy import create_engine

    bus = ChangeBus(create_engine("sqlite://"))
    bus.on("catalog", lambda _: None)
    bus.start()
    assert bus._thread is None
