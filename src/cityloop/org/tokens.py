"""Token versions read in batches: every request's bearer token is checked against its user's current token version
(logout, a new password or a deactivation end a token at once, on every worker and every host), yet under load the
requests that arrive while one read is running share the next read — one query for all of them.

Each read starts after every request it answers has arrived, so it sees every change committed before any of them
came in: the same answer each request would get from a read of its own, with no cache to go stale. (On a SQLite
file, whose workers all run on one host, the versions are kept until a stamp file says they changed: TokenVersions.)"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker


def token_versions(factory: sessionmaker[Session], user_ids: list[int]) -> dict[int, int]:
    """The current token version of each of these users that exists and is active (one query)."""
    bind = factory.kw["bind"]  # a read factory: never a request's write session, which may not exist yet
    # On the driver's own connection: the read runs for every request, and a Session and the ORM cost ten times
    # what the query does.
    if isinstance(bind, Engine):
        with closing(bind.raw_connection()) as conn:  # back to the pool (rolled back) when done
            return _versions(conn, bind.dialect.paramstyle, user_ids)
    return _versions(bind.connection.dbapi_connection, bind.dialect.paramstyle, user_ids)  # a test's connection


def _versions(conn: Any, paramstyle: str, user_ids: list[int]) -> dict[int, int]:
    marks = ", ".join(["?" if paramstyle == "qmark" else "%s"] * len(user_ids))
    cursor = conn.cursor()
    try:
        cursor.execute(f"SELECT id, token_version, active FROM users WHERE id IN ({marks})", tuple(user_ids))
        return {user_id: version for user_id, version, active in cursor.fetchall() if active}
    finally:
        cursor.close()


STAMPED_MAX_AGE = 5.0


@dataclass(eq=False)
class _Round:
    """One event loop's requests waiting for a read (the ones that came while the previous read ran)."""

    waiting: dict[int, list[asyncio.Future[int | None]]] = field(default_factory=dict)
    task: asyncio.Task[None] | None = None


class TokenVersions:
    """`await versions.of(user_id)`: the user's token version now (None: no such user, or inactive).

    The blocking `read(user_ids) -> {user id: version}` runs in a worker thread, one at a time per event loop; the
    requests that arrive meanwhile wait for the next one, which starts as soon as it is done.

    On a local SQLite file (`stamped`: the stamp of the file that every change of a user's token version or active
    flag touches after its commit, db/changes.stamp) the versions read are kept while the stamp stays the same, at
    most STAMPED_MAX_AGE seconds: one stat() per request. A read per request cost 45 µs of CPU and, under load,
    200 µs of the event loop waiting to take the GIL back from the group committer's thread. A process killed
    between a commit and its stamp leaves the others' versions stale for that long at most."""

    def __init__(self, read: Callable[[list[int]], dict[int, int]],
                 stamped: Callable[[], int] | None = None) -> None:
        self.read, self.stamped = read, stamped
        self._rounds: dict[asyncio.AbstractEventLoop, _Round] = {}  # loops with a read running or due
        self._known: dict[int, int | None] = {}  # stamped: the versions read since the stamp was last seen to change
        self._stamp, self._kept_since = 0, 0.0  # stamped: the stamp they were read under, and since when

    def _stamped_version(self, stamped: Callable[[], int], user_id: int) -> int | None:
        stamp, now = stamped(), time.monotonic()  # before the read: a change stamped during it is read next time
        if stamp != self._stamp or now - self._kept_since > STAMPED_MAX_AGE:
            self._known, self._stamp, self._kept_since = {}, stamp, now
        if user_id not in self._known:
            self._known[user_id] = self.read([user_id]).get(user_id)
        return self._known[user_id]

    async def of(self, user_id: int) -> int | None:
        if self.stamped is not None:
            return self._stamped_version(self.stamped, user_id)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[int | None] = loop.create_future()
        current = self._rounds.get(loop)
        if current is None:
            current = self._rounds[loop] = _Round()
            current.task = loop.create_task(self._drain(loop, current))
        current.waiting.setdefault(user_id, []).append(future)
        return await future

    async def _drain(self, loop: asyncio.AbstractEventLoop, state: _Round) -> None:
        try:
            while state.waiting:
                batch, state.waiting = state.waiting, {}  # who came before this read starts
                try:
                    found = await loop.run_in_executor(None, self.read, list(batch))
                except asyncio.CancelledError:  # the loop is closing: so are its requests
                    for futures in batch.values():
                        for future in futures:
                            future.cancel()
                    raise
                except Exception as exc:  # noqa: BLE001 - every waiting request gets the failure
                    for futures in batch.values():
                        for future in futures:
                            if not future.done():
                                future.set_exception(exc)
                    continue
                for user_id, futures in batch.items():
                    for future in futures:
                        if not future.done():  # a request whose client went away is not waiting any more
                            future.set_result(found.get(user_id))
        finally:
            if self._rounds.get(loop) is state:
                del self._rounds[loop]
            for futures in state.waiting.values():  # only when cancelled: nobody will read for them
                for future in futures:
                    future.cancel()
