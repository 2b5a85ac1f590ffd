"""One scheduler among several hosts: on PostgreSQL the server tasks run only in the process that holds a session-level
advisory lock on a connection it keeps open; the others stand by and try again, so when the holder stops or dies
(its connection closes and the lock goes with it) another host takes over within RETRY_SECONDS.

On SQLite (one host) every worker runs the tasks as before; each job still takes its own lock (shared/singleton.py)."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import zlib
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, text

if TYPE_CHECKING:  # the state sits above the database layer
    from cityloop.state import AppState

log = logging.getLogger("cityloop.scheduler")
LOCK_NAME = "cityloop-scheduler"
ServerTask = Callable[["AppState"], Coroutine[Any, Any, object]]  # an area's SERVER_TASKS entry: runs for the life of a worker
LOCK_KEY = zlib.crc32(LOCK_NAME.encode())
RETRY_SECONDS = 5.0  # a standby host tries to take over this often
CHECK_SECONDS = 5.0  # the leader checks its lock connection this often


def me() -> str:
    """How this process names itself as the scheduler (host and pid)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _take(engine: Engine) -> Connection | None:
    """A connection holding the scheduler lock, or None while another process holds it."""
    conn = engine.connect()
    try:
        conn.execute(text("SELECT set_config('application_name', :n, false)"), {"n": f"cityloop-scheduler {me()}"})
        got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": LOCK_KEY}).scalar()
        conn.commit()
    except Exception:
        conn.close()
        raise
    if got:
        return conn
    _unname(conn)
    return None


def _unname(conn: Connection) -> None:
    """Give the connection back to the pool without the scheduler's name on it."""
    try:
        conn.execute(text("SELECT set_config('application_name', 'cityloop', false)"))
        conn.commit()
    finally:
        conn.close()


def _check(conn: Connection) -> None:
    """Raise if the lock's connection is gone (then the lock is gone too)."""
    conn.execute(text("SELECT 1"))
    conn.commit()


def _release(conn: Connection) -> None:
    try:
        conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
        conn.commit()
        _unname(conn)
    except Exception:  # noqa: BLE001 - a broken connection has lost the lock already
        conn.invalidate()
        conn.close()


def _lock_engine(state: AppState) -> Engine:
    """The engine the lock is taken on: the app's, or one on database_session_url (behind PgBouncer)."""
    url = getattr(state.settings, "database_session_url", "")
    if not url:
        return state.engine
    from cityloop.db import make_engine

    return make_engine(url, pool_size=1)


async def lead(state: AppState, runs: list[ServerTask]) -> None:
    """Run `runs` (the server tasks) for as long as this process is the scheduler; stand by otherwise."""
    engine: Engine = _lock_engine(state)
    standby_logged = False
    state.scheduler_leader = False
    while True:
        try:
            conn = await asyncio.to_thread(_take, engine)
        except Exception:  # noqa: BLE001 - database away: try again later
            log.warning("scheduler lock not reachable; retrying", exc_info=True)
            conn = None
        if conn is None:
            if not standby_logged:
                log.warning("scheduler: standby (another process runs the jobs) %s", me())
                standby_logged = True
            await asyncio.sleep(RETRY_SECONDS)
            continue
        log.warning("scheduler: this process runs the jobs %s", me())
        state.scheduler_leader, standby_logged = True, False
        tasks = [asyncio.create_task(run(state)) for run in runs]
        try:
            while True:
                await asyncio.sleep(CHECK_SECONDS)
                await asyncio.to_thread(_check, conn)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - lost the lock with the connection: stop the jobs, try again
            log.warning("scheduler: lost the lock; jobs stopped", exc_info=True)
        finally:
            state.scheduler_leader = False
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await asyncio.to_thread(_release, conn)


def start(state: AppState, runs: list[ServerTask]) -> list[asyncio.Task[Any]]:
    """The server's background tasks: all of them (SQLite), or the one leader loop that runs them (PostgreSQL)."""
    if not runs:
        return []
    if state.engine.dialect.name == "postgresql":
        return [asyncio.create_task(lead(state, runs))]
    return [asyncio.create_task(run(state)) for run in runs]
