"""Cross-process cache invalidation: a change one process makes is announced to every process on the same database.

On PostgreSQL a process announces with `pg_notify` after its commit and every process LISTENs on one channel (a
background thread with its own connection), so several API hosts drop their cached catalog, calendar, actors and
device directories at once. After the listening connection is (re)opened every cache is dropped, since notices sent
while it was away are lost. On a SQLite file (one host) the announcement reaches this process's handlers, and it also
stamps a file per topic beside the database (`stamp`). The host's other processes see the stamp change: a per-use
cache (db/topic_cache, token versions) compares it with the stamp of the value it holds, and every other handler runs
from a thread that looks at the stamps every POLL_SECONDS."""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from functools import cache
from pathlib import Path

from sqlalchemy import URL, Connection, Engine, make_url, text

log = logging.getLogger("cityloop.changes")
CHANNEL = "cityloop_changes"
EVERYTHING = ""  # the argument a handler gets when it must forget all it holds (reconnect, or a whole-topic change)
RETRY_SECONDS = 1.0
POLL_SECONDS = 0.5  # SQLite: how often the other processes' stamps are looked at (a stat() per topic)


@cache
def stamp_file(url: URL, topic: str) -> Path | None:
    """The file whose modification time stamps `topic`'s last change on a SQLite database file (else None)."""
    from cityloop.db import sqlite_path

    path = sqlite_path(url.render_as_string()) if url.get_backend_name() == "sqlite" else None
    return Path(f"{path}-changes") / topic if path else None


def stamp(path: Path) -> int:
    """The stamp of a topic's file: its modification time in nanoseconds, 0 when it never changed."""
    try:
        return os.stat(path).st_mtime_ns
    except FileNotFoundError:
        return 0


def _restamp(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
    now = max(time.time_ns(), stamp(path) + 1)  # set explicitly: the file system's own clock ticks coarsely
    os.utime(path, ns=(now, now))


def notify(bind: Engine | Connection, topic: str, arg: str = EVERYTHING) -> None:
    """Tell every listening process (PostgreSQL) that `topic` changed, or stamp its file (SQLite). Call after the
    commit (given a PostgreSQL connection rather than an engine, the notice goes out when its transaction commits)."""
    if bind.dialect.name != "postgresql":
        if (path := stamp_file(bind.engine.url, topic)) is not None:
            _restamp(path)
        return
    stmt, params = text("SELECT pg_notify(:c, :p)"), {"c": CHANNEL, "p": f"{topic}:{arg}"[:7900]}
    if isinstance(bind, Connection):
        bind.execute(stmt, params)
        return
    with bind.connect() as conn:
        conn.execute(stmt, params)
        conn.commit()


class ChangeBus:
    """Handlers by topic for one process (app); `announce` runs them here and notifies the other processes."""

    def __init__(self, engine: Engine, session_url: str = "") -> None:
        self.engine, self.session_url = engine, session_url
        self.handlers: dict[str, list[Callable[[str], None]]] = defaultdict(list)
        self.received = 0  # notices taken from the database (tests and diagnostics)
        self.listening = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.name = f"cityloop-changes-{uuid.uuid4().hex[:8]}"

    def on(self, topic: str, handler: Callable[[str], None]) -> None:
        """Call `handler(arg)` whenever `topic` changes (arg is EVERYTHING when all of it may have)."""
        self.handlers[topic].append(handler)

    def dispatch(self, topic: str, arg: str = EVERYTHING) -> None:
        """Run this process's handlers of `topic`; a failing handler is logged, never raised."""
        for handler in list(self.handlers.get(topic, ())):
            try:
                handler(arg)
            except Exception:  # noqa: BLE001 - one bad handler must not keep the others from running
                log.exception("change handler for %s failed", topic)

    def forget_everything(self) -> None:
        """Drop every cache (notices may have been missed)."""
        for topic in list(self.handlers):
            self.dispatch(topic)

    def announce(self, topic: str, arg: str = EVERYTHING) -> None:
        """This process changed `topic` (committed): drop it here now and tell the other processes."""
        self.dispatch(topic, str(arg))
        try:
            notify(self.engine, topic, str(arg))
        except Exception:  # noqa: BLE001 - the change is committed; the others fall back to their cache ages
            log.exception("could not announce change of %s", topic)

    # --- hearing the other processes (PostgreSQL notices, SQLite stamps) ----------------------------------------
    def start(self) -> None:
        """Hear other processes' changes in a daemon thread: their notices (PostgreSQL), or their stamps (a SQLite
        file); an in-memory database has no other process."""
        if self._thread is not None:
            return
        if self.engine.dialect.name == "postgresql":
            target = self._listen
        elif stamp_file(self.engine.url, "") is not None:
            target = self._watch
        else:
            return
        self._thread = threading.Thread(target=target, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop listening (the thread notices within a second)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def _watch(self) -> None:
        seen: dict[str, int] = {}
        while True:
            for topic in list(self.handlers):
                path = stamp_file(self.engine.url, topic)
                assert path is not None  # a SQLite file (start)
                now, before = stamp(path), seen.get(topic)
                seen[topic] = now
                if before is not None and now != before:  # (this process's own announcements run here again)
                    self.received += 1
                    self.dispatch(topic)
            self.listening.set()
            if self._stop.wait(POLL_SECONDS):
                break
        self.listening.clear()

    def _dsn(self) -> str:
        url = make_url(self.session_url) if self.session_url else self.engine.url
        return url.set(drivername="postgresql").render_as_string(hide_password=False)

    def _listen(self) -> None:
        import psycopg

        while not self._stop.is_set():
            try:
                with psycopg.connect(self._dsn(), autocommit=True, application_name="cityloop-changes") as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self.forget_everything()  # whatever changed while nobody listened
                    self.listening.set()
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=1.0):
                            self.received += 1
                            topic, _, arg = note.payload.partition(":")
                            self.dispatch(topic, arg)
            except Exception:  # noqa: BLE001 - the database went away: caches age out until it is back
                self.listening.clear()
                log.warning("change listener lost its connection; retrying", exc_info=True)
                self._stop.wait(RETRY_SECONDS)
        self.listening.clear()
