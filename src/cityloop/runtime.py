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

# PostgreSQL: the group committer's own connections (its writer thread uses one at a time; a replayed
# Idempotency-Key reads on another). Read sessions end in ROLLBACK, after which psycopg drops every statement it
# prepared on that connection; off the shared pool, the intake's inserts stay prepared.
INTAKE_POOL = {"pool_size": 1, "max_overflow": 2}


def build_state(settings: Settings, engine: Engine | None = None,
                session_factory: sessionmaker[Session] | None = None, clock: Clock | None = None,
                read_session_factory: sessionmaker[Session] | None = None) -> AppState:
    """An AppState with engines and session factories from settings unless given (tests share theirs).

    Reads use their own factory: on SQLite its transactions are deferred and take no lock. On PostgreSQL the
    group committer has a small pool of its own (INTAKE_POOL)."""
    own = engine is None and session_factory is None  # (the app disposes what it built: see create_app)
    engine = engine or make_engine(settings.database_url, busy_timeout=settings.db_busy_timeout_seconds,
                                   **settings.engine_options())
    writes = session_factory or make_session_factory(engine)
    read_engine = None
    if read_session_factory is None and session_factory is None and engine.dialect.name == "sqlite":
        read_engine = make_engine(settings.database_url, readonly=True)
        read_session_factory = make_session_factory(read_engine)
    reads = read_session_factory or writes
    intake_engine = None
    if own and engine.dialect.name == "postgresql":
        intake_engine = make_engine(settings.database_url, **(settings.engine_options() | INTAKE_POOL))
    intake = make_session_factory(intake_engine) if intake_engine is not None else writes
    return AppState(settings=settings, engine=engine, session_factory=writes, read_session_factory=reads,
                    clock=clock or SystemClock(), matters=MatterCache(reads, settings.catalog_standard),
                    intake=cases_api.GroupCommitter(intake, partial(cases_api.write, settings=settings)),
                    changes=ChangeBus(engine, settings.database_session_url), read_engine=read_engine,
                    intake_engine=intake_engine)
