"""The HJ 212 gateway's ingest process: rules and store of the listener's batches on a core of their own.

The listener (asyncio, one core) splits, checks and answers frames; its batches of checked data frames go through a
pipe to this process, which parses them again, runs rules and store in one transaction and says how it went. The
listener answers a batch's frames (9014) only after that: a frame is acknowledged once committed, as in one process.
The process owns the rule state (loaded at its start, persisted as the in-thread ingestor does, and at its end: when
the listener closes the pipe or dies). It ignores SIGINT and SIGTERM — the listener's shutdown ends it — and one that
dies is started again for the next batch (the batch in flight is not answered: its stations send it again)."""

from __future__ import annotations

import asyncio
import atexit
import logging
import multiprocessing
import pickle
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable
from multiprocessing.connection import Connection as Pipe
from typing import Any
from zoneinfo import ZoneInfo

from cityloop.config import Settings
from cityloop.sensors.hj212_common import Station, station_counter
from cityloop.sensors.pipeline import Result

log = logging.getLogger("cityloop.sensors.hj212")
START_SECONDS = 120.0  # a new process loads the registry, rule state and grid index before it is ready
STOP_SECONDS = 20.0  # a closing process writes its last batch and the rule state (systemd waits 30 s in all)


class WorkerError(RuntimeError):
    """The ingest process is down, did not start, or lost a batch."""


class IngestWorker:
    """The listener's side of the ingest process: start it, hand it batches, stop it."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.process: Any = None  # multiprocessing's SpawnProcess (not exported for typing)
        self.pipe: Pipe | None = None
        self.lock = threading.Lock()  # one batch on the pipe at a time, also when a cancelled wait left one there
        self.refresh = False
        self.cpu_seconds = 0.0  # the process's CPU time as of its last answer (the benchmark reads it)
        self.counts: Counter[str] = Counter()  # accepted, stored, intervals, events: all batches of this listener
        self._registered = False

    async def start(self) -> None:
        """Start the process and wait until it is ready (WorkerError if it cannot start)."""
        await asyncio.to_thread(self._start)

    def _start(self) -> None:
        with self.lock:
            self._stop()
            ctx = multiprocessing.get_context("spawn")  # nothing of the listener's loop or threads is inherited
            mine, theirs = ctx.Pipe()
            process = ctx.Process(target=serve, args=(theirs, self.settings), name="cityloop-hj212-ingest")
            process.start()
            theirs.close()
            self.process, self.pipe = process, mine
            if not self._registered:  # before multiprocessing's own exit hook joins the process
                atexit.register(self._stop)
                self._registered = True
            if not mine.poll(START_SECONDS):
                self._stop()
                raise WorkerError("the HJ 212 ingest process did not get ready")
            try:
                reply = pickle.loads(mine.recv_bytes())
            except (EOFError, OSError) as exc:
                self._stop()
                raise WorkerError("the HJ 212 ingest process ended while starting") from exc
            if reply[0] != "ready":
                self._stop()
                raise WorkerError(f"the HJ 212 ingest process could not start: {reply[1]}")
            self.cpu_seconds = reply[-1]

    async def store(self, frames: list[bytes], stations: list[Station], counts: dict[str, int],
                    sent: Callable[[], None] | None = None) -> tuple[Result, list[tuple[int, str]]]:
        """One batch of data frames whose headers and stations are checked, stored (WorkerError if not): what was
        done, and the frames found malformed past their header (index in the batch, FrameError code). `sent` is
        called on the sending thread once the batch is in the pipe."""
        if self.pipe is None:
            await self.start()
        return await asyncio.to_thread(self._store, frames, stations, counts, sent)

    def _store(self, frames: list[bytes], stations: list[Station], counts: dict[str, int],
               sent: Callable[[], None] | None) -> tuple[Result, list[tuple[int, str]]]:
        with self.lock:
            pipe = self.pipe
            if pipe is None:
                raise WorkerError("the HJ 212 ingest process is down")
            refresh, self.refresh = self.refresh, False
            try:
                pipe.send_bytes(pickle.dumps((refresh, frames, stations, dict(counts)), pickle.HIGHEST_PROTOCOL))
                if sent is not None:
                    sent()
                reply = pickle.loads(pipe.recv_bytes())
            except (EOFError, OSError) as exc:
                self._stop()
                raise WorkerError("the HJ 212 ingest process ended; it starts again for the next batch") from exc
        self.cpu_seconds = reply[-1]
        if reply[0] != "ok":
            raise WorkerError(f"batch failed in the ingest process: {reply[1]}")
        _, accepted, stored, intervals, events, refused, _ = reply
        self.counts.update(accepted=accepted, stored=stored, intervals=intervals, events=events)
        return Result(accepted=accepted, stored=stored, intervals=intervals, events=events), refused

    def invalidate(self) -> None:
        """The registry changed: the process reloads it before the next batch."""
        self.refresh = True

    async def close(self) -> None:
        """Let the process write its rule state and end."""
        await asyncio.to_thread(self._close)

    def _close(self) -> None:
        with self.lock:
            self._stop()

    def _stop(self) -> None:
        # Closing the pipe is the process's signal to finish (it ignores SIGTERM: systemd sends that to all).
        pipe, process, self.pipe, self.process = self.pipe, self.process, None, None
        if pipe is not None:
            pipe.close()
        if process is not None:
            process.join(STOP_SECONDS)
            if process.is_alive():
                log.warning("HJ 212 ingest process %s did not end; killing it", process.pid)
                process.kill()
                process.join()


def serve(pipe: Pipe, settings: Settings) -> None:
    """The ingest process: batches from the pipe until it closes, then the rule state written."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    try:
        ingestor = _ingestor(settings)
    except Exception as exc:  # noqa: BLE001 - told to the listener, which says why it cannot start
        log.exception("HJ 212 ingest process could not start")
        pipe.send_bytes(pickle.dumps(("error", repr(exc)[:500], time.process_time())))
        return
    pipe.send_bytes(pickle.dumps(("ready", 0, time.process_time())))
    try:
        _loop(pipe, ingestor, settings)
    finally:
        ingestor.flush_state()


def _ingestor(settings: Settings) -> Any:
    from cityloop.db import make_engine, make_session_factory
    from cityloop.db.checkpoint import start_checkpointing
    from cityloop.sensors.notify import Outbox
    from cityloop.sensors.pipeline import Ingestor
    from cityloop.shared.clock import SystemClock
    from cityloop.shared.collector import quiet_collector

    start_checkpointing(settings.database_url)  # SQLite: the WAL is checkpointed off the write path
    ingestor = Ingestor(make_session_factory(make_engine(settings.database_url)), settings, SystemClock(),
                        Outbox(settings))
    ingestor.accept([])  # the registry, rule state and grid index, loaded now so the frozen heap holds them
    quiet_collector()
    return ingestor


def _loop(pipe: Pipe, ingestor: Any, settings: Settings) -> None:
    from cityloop.sensors.hj212_batch import store_batch

    tz = ZoneInfo(settings.timezone)
    while True:
        try:
            message = pipe.recv_bytes()
        except (EOFError, OSError):
            return
        refresh, frames, stations, counts = pickle.loads(message)
        if refresh:
            ingestor.invalidate()
        try:
            packets, kept, refused = _parse(frames, stations, counts)
            r = store_batch(ingestor, settings, tz, packets, kept, counts)
            reply: tuple[Any, ...] = ("ok", r.accepted, r.stored, r.intervals, r.events, refused,
                                      time.process_time())
        except Exception as exc:  # noqa: BLE001 - one failed batch never stops the process
            log.exception("HJ 212 batch of %d frames failed", len(frames))
            reply = ("error", repr(exc)[:500], time.process_time())
        try:
            pipe.send_bytes(pickle.dumps(reply, pickle.HIGHEST_PROTOCOL))
        except OSError:
            return


def _parse(frames: list[bytes], stations: list[Station],
           counts: dict[str, int]) -> tuple[list[Any], list[Station], list[tuple[int, str]]]:
    """The batch's frames parsed in full (the listener read their headers only); a malformed one is left out and
    counted, in all and for its station, as the listener counts refused frames."""
    from cityloop.sensors import hj212

    parse, error = hj212.parse, hj212.FrameError
    packets, kept, refused = [], [], []
    for i, (frame, station) in enumerate(zip(frames, stations)):
        try:
            packets.append(parse(frame[6:-6].decode("latin-1"), True))  # CRC and length checked by the listener
        except error as exc:
            refused.append((i, exc.code))
            for name in (f"rejected:hj212-{exc.code}", station_counter(station.device_id, f"hj212-{exc.code}")):
                counts[name] = counts.get(name, 0) + 1
            continue
        kept.append(station)
    return packets, kept, refused
