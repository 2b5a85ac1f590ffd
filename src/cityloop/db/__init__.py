"""Engine and session factories, the declarative base, and column types shared by every area."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Connection, DateTime, Dialect, Engine, MetaData, create_engine, event
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with a stable constraint naming convention (Alembic-friendly)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on every backend (SQLite stores naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; CityLoop stores aware UTC timestamps only")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


JSONType = JSON().with_variant(JSON(none_as_null=True), "postgresql")


def _sqlite_pragmas(dbapi_conn: DBAPIConnection, _record: ConnectionPoolEntry, busy_ms: int = 30000) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute(f"PRAGMA busy_timeout={busy_ms}")
    cur.close()


def _begin_write(conn: Connection) -> None:
    # A write transaction queues on the file's write lock, then takes SQLite's lock up front (BEGIN IMMEDIATE),
    # so writers never fail on a lock upgrade nor sleep in SQLite's busy handler.
    begin_write = getattr(conn.connection.dbapi_connection, "begin_write", None)  # a WriterConnection's
    if begin_write is not None:
        begin_write()
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _begin_read(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN")  # deferred: WAL readers take no lock


def sqlite_path(url: str) -> str | None:
    """The file of a SQLite URL (None: not SQLite, in memory, or a file: URI)."""
    if not url.startswith("sqlite"):
        return None
    _, slashes, path = url.partition("///")  # sqlite:// alone is an in-memory database
    return None if not slashes or not path or path == ":memory:" or path.startswith("file:") else path


def _ping_when_idle(engine: Engine, idle_seconds: float) -> None:
    """Test a pooled connection on checkout only when it sat idle for `idle_seconds` (a restarted server or a
    dropped link shows after a pause): under load connections come back within milliseconds and go out again
    without the extra round trip pool_pre_ping would cost each time. A dead one is replaced transparently."""

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_conn: DBAPIConnection, record: ConnectionPoolEntry) -> None:
        record.info["returned"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_conn: DBAPIConnection, record: ConnectionPoolEntry, _proxy: PoolProxiedConnection) -> None:
        if time.monotonic() - record.info.get("returned", 0.0) < idle_seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:  # noqa: BLE001 - any failure: let the pool open a new connection
            raise DisconnectionError() from exc


def make_engine(url: str, readonly: bool = False, busy_timeout: float = 30.0, ping_idle_seconds: float = 2.0,
                **kwargs: Any) -> Engine:
    """Create an engine. SQLite gets WAL, foreign keys and a busy timeout (seconds a writer waits for the lock);
    its writers queue on a write lock (see sqlite_lock), readers (readonly=True) run deferred transactions that
    never block. A server database (PostgreSQL) gets a pool of pool_size + max_overflow connections per process,
    tested before use after ping_idle_seconds idle (see docs/production.md)."""
    serializer = {"json_serializer": lambda o: json.dumps(o, ensure_ascii=False)}
    if not url.startswith("sqlite"):
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 10)
        engine = create_engine(url, **serializer, **kwargs)
        _ping_when_idle(engine, ping_idle_seconds)
        return engine
    path = sqlite_path(url)
    connect_args: dict[str, Any] = {"check_same_thread": False, "isolation_level": None}
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        if not readonly:
            from cityloop.db.sqlite_lock import writer_factory

            connect_args["factory"] = writer_factory(str(Path(path).resolve()), timeout=busy_timeout)
    if path:
        # Enough pooled connections for every worker thread: a new SQLite connection re-reads the schema.
        kwargs.setdefault("pool_size", 48 if readonly else 8)
        kwargs.setdefault("max_overflow", 16)
    engine = create_engine(url, connect_args=connect_args, **serializer, **kwargs)
    event.listen(engine, "connect", partial(_sqlite_pragmas, busy_ms=int(busy_timeout * 1000)))
    event.listen(engine, "begin", _begin_read if readonly else _begin_write)
    return engine


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session that rolls back on error and always closes."""
    session = factory()
    try:
        yield session
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def import_all_models() -> None:
    """Import every area's models so Base.metadata is complete (Alembic, tests)."""
    from cityloop.areas import modules

    modules("models")


# Search structures that only the migrations know (dash18a1, s18b1): an FTS5 table and its shadow tables on SQLite,
# a character-pair GIN index on PostgreSQL (pg_trgm before). Autogenerate and the schema comparison leave them alone.
SEARCH_OBJECTS = ("cases_fts", "ix_cases_description_trgm", "ix_cases_description_bigrams")


def include_name(name: str | None, type_: str, _parents: Any) -> bool:
    """Alembic's include_name hook: everything but SEARCH_OBJECTS (and FTS5's cases_fts_* shadow tables)."""
    return not (name and name.startswith(SEARCH_OBJECTS))
