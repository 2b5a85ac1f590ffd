"""build_state: the AppState of one process — its engines and session factories from the settings, unless a test,
the fleet replay or a benchmark hands in its own — for the server, the scheduler, CLIs, the demo and benchmarks."""

from __future__ import annotations

from functools import partial

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from cityloop.cases import api as cases_api
from cityloop.catalog.cache import MatterCache
from cityloop.config import Settings
from cityloop.db import make_engine, make_session_factory
from cityloop.db.changes import ChangeBus
from cityloop.shared.clock import Clock, SystemClock
from cityloop.state import AppState


def build_state(settings: Settings, engine: Engine | None = None,
                session_factory: sessionmaker[Session] | None = None, clock: Clock | None = None,
                read_session_factory: sessionmaker[Session] | None = None) -> AppState:
    """An AppState with engines and session factories from settings unless given (tests share theirs).

    Reads use their own factory: on SQLite its transactions are deferred and take no lock."""
    engine = engine or make_engine(settings.database_url, busy_timeout=settings.db_busy_timeout_seconds,
                                   **settings.engine_options())
    writes = session_factory or make_session_factory(engine)
    read_engine = None
    if read_session_factory is None and session_factory is None and engine.dialect.name == "sqlite":
        read_engine = make_engine(settings.database_url, readonly=True)
        read_session_factory = make_session_factory(read_engine)
    reads = read_session_factory or writes
    return AppState(settings=settings, engine=engine, session_factory=writes, read_session_factory=reads,
                    clock=clock or SystemClock(), matters=MatterCache(reads, settings.catalog_standard),
                    intake=cases_api.GroupCommitter(writes, partial(cases_api.write, settings=settings)),
                    changes=ChangeBus(engine, settings.database_session_url), read_engine=read_engine)
