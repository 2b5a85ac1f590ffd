"""Group commit: one writer thread per process writes queued items in batches, one transaction each.

Under load many reports arrive at once; writing them one transaction at a time makes every report pay for a
write lock and a commit. The writer takes whatever is queued (up to max_batch), writes it in one transaction
and wakes each waiting request. If a batch fails, its items are written one by one, so a bad item fails alone.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from concurrent.futures import Future
from collections.abc import Callable
from enum import Enum
from typing import Any, Literal

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger("cityloop.batcher")


class _Stop(Enum):
    STOP = "stop"


_STOP: Literal[_Stop.STOP] = _Stop.STOP  # queued last: the writer thread ends
# A queued item: what to write, the event loop of the request waiting for it (None: a worker thread), its future.
_Item = tuple[Any, asyncio.AbstractEventLoop | None, "asyncio.Future[Any] | Future[Any]"]


class GroupCommitter:
    """Runs write(session, items) -> results for queued items in a dedicated thread and commits per batch."""

    def __init__(self, factory: sessionmaker[Session], write: Callable[[Session, list[Any]], list[Any]],
                 max_batch: int = 128) -> None:
        self.factory, self.write, self.max_batch = factory, write, max_batch
        self._queue: queue.SimpleQueue[_Item | Literal[_Stop.STOP]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def _ensure_started(self) -> None:
        if self._thread is None:
            with self._start_lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="cityloop-group-commit", daemon=True)
                    self._thread.start()

    async def submit(self, item: Any) -> Any:
        """Queue one item and wait for its result (or its exception)."""
        self._ensure_started()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._queue.put((item, loop, future))
        return await future

    def submit_wait(self, item: Any, timeout: float | None = None) -> Any:
        """Queue one item from a worker thread and block until it is written (or its exception is raised).

        The calling thread must hold no write transaction of its own (on SQLite the writer would wait for it)."""
        self._ensure_started()
        future: Future[Any] = Future()
        self._queue.put((item, None, future))
        return future.result(timeout)

    def stop(self) -> None:
        """Finish what is queued, then end the writer thread."""
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join(timeout=30)
            self._thread = None

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            batch = [first]
            stop = False
            while len(batch) < self.max_batch:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is _STOP:
                    stop = True
                    break
                batch.append(nxt)
            self._flush(batch)
            if stop:
                return

    def _flush(self, batch: list[_Item]) -> None:
        try:
            with self.factory() as session:
                results = self.write(session, [item for item, _, _ in batch])
                session.commit()
        except Exception as exc:  # noqa: BLE001 - every failure is handed back to its request
            if len(batch) > 1:
                for one in batch:
                    self._flush([one])
                return
            results = [exc]
            if not isinstance(exc, IntegrityError):  # a duplicate Idempotency-Key is expected, anything else is not
                log.warning("write failed: %r", exc)
        answers: dict[asyncio.AbstractEventLoop, list[tuple[Any, Any]]] = {}
        for (_, loop, future), result in zip(batch, results):
            if loop is None:  # a worker thread waits in submit_wait
                _settle(future, result)
            else:
                answers.setdefault(loop, []).append((future, result))
        for loop, settled in answers.items():  # one wake-up of each waiting event loop per batch
            loop.call_soon_threadsafe(_settle_all, settled)


def _settle_all(settled: list[tuple[Any, Any]]) -> None:
    for future, result in settled:
        _settle(future, result)


def _settle(future: asyncio.Future[Any] | Future[Any], result: Any) -> None:
    if future.done():  # the request was cancelled (client went away); nothing to tell it
        return
    if isinstance(result, BaseException):
        future.set_exception(result)
    else:
        future.set_result(result)
