"""Per-process copies of rarely changed rows that intake reads on every batch (campaigns, level rules).

A value is kept per database (PostgreSQL only) until its topic is announced on the ChangeBus — by this process at
once, by another process through `pg_notify` — or until it is MAX_AGE seconds old (notices missed while the
listener was away). On a SQLite file, whose worker processes hear no other worker's notices, a value is kept while
its topic's stamp file (db/changes.stamp) is unchanged: one stat() per use instead of the queries. An in-memory
SQLite database reads every time."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from sqlalchemy.orm import Session

from cityloop.db.changes import stamp, stamp_file

T = TypeVar("T")
MAX_AGE = 30.0
_caches: dict[str, list[TopicCache[object]]] = {}
_registry_lock = threading.Lock()


class TopicCache(Generic[T]):
    """One kind of value, by database URL, dropped when `topic` changes."""

    def __init__(self, topic: str, max_age: float = MAX_AGE) -> None:
        self.topic, self.max_age = topic, max_age
        self._values: dict[str, tuple[float, int, T]] = {}  # by database: (read at, stamp then, value)
        self._generation = 0
        self._lock = threading.Lock()
        with _registry_lock:
            _caches.setdefault(topic, []).append(self)  # type: ignore[arg-type]

    def get(self, session: Session, load: Callable[[Session], T]) -> T:
        """The cached value, or load(session) (kept unless the topic changed while it was being read)."""
        bind = session.get_bind()
        url, stamped = bind.engine.url, 0
        if bind.dialect.name != "postgresql":
            if (path := stamp_file(url, self.topic)) is None:
                return load(session)
            stamped = stamp(path)  # before the read: a change stamped during it makes the next use read again
        key, now = url.render_as_string(), time.monotonic()
        with self._lock:
            hit, generation = self._values.get(key), self._generation
        if hit is not None and now - hit[0] < self.max_age and hit[1] == stamped:
            return hit[2]
        value = load(session)
        with self._lock:
            if self._generation == generation:  # a change announced during the read may not be in it
                self._values[key] = (now, stamped, value)
        return value

    def invalidate(self) -> None:
        """Forget every value (read again on next use)."""
        with self._lock:
            self._generation += 1
            self._values.clear()


def invalidate(topic: str) -> None:
    """Forget the values of every cache of `topic` (a ChangeBus handler)."""
    with _registry_lock:
        caches = list(_caches.get(topic, ()))
    for cache in caches:
        cache.invalidate()


def invalidate_all() -> None:
    """Forget every cached value (tests: each runs in its own rolled-back transaction)."""
    with _registry_lock:
        caches = [c for group in _caches.values() for c in group]
    for cache in caches:
        cache.invalidate()
