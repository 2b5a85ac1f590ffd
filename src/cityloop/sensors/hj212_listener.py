"""The HJ 212 listener (`cityloop gateway hj212`, and the demo server): asyncio TCP, one Protocol per connection.

Each connection splits and decodes its own frames as they arrive; a station is known by its MN and password
(registered devices only). Data frames go to the ingestor in batches — on a thread, or in the ingest process of the
gateway (hj212_worker) — one transaction per batch, never one per frame, and each read is answered (9014) in one
write once its batch is committed. A broken frame is counted (in all and per station) and answered with 9011 when
it asks for answers; nothing one connection sends can affect another."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from cityloop.config import Settings
from cityloop.sensors import hj212
from cityloop.sensors.hj212_common import (LOOKUP_AGAIN_SECONDS, LOOKUPS_PER_SECOND, MAX_PER_FLUSH, READ_BYTES,
                                           RELOAD_SECONDS, Peer, Pending, Reply, Station, find_station,
                                           load_stations, station_counter)
from cityloop.sensors.hj212_batch import store_batch
from cityloop.sensors.hj212_connection import Connection
from cityloop.sensors.hj212_worker import IngestWorker
from cityloop.sensors.pipeline import Ingestor, Result
from cityloop.shared.collector import quiet_collector
from cityloop.shared.lookup_gate import LookupGate

__all__ = ["READ_BYTES", "Connection", "Listener", "Peer", "Pending", "Reply", "Station", "find_station",
           "load_stations", "station_counter"]
log = logging.getLogger("cityloop.sensors.hj212")
T = TypeVar("T")


class Listener:
    """The HJ 212 TCP listener of one process, feeding that process's ingestor — or, given a worker, the ingest
    process it starts (then `ingestor` is None and `factory` serves the station lookups only)."""

    def __init__(self, ingestor: Ingestor | None, factory: sessionmaker[Session], settings: Settings,
                 worker: IngestWorker | None = None) -> None:
        if (ingestor is None) == (worker is None):
            raise ValueError("a listener feeds either an ingestor or an ingest process")
        self.ingestor, self.factory, self.settings, self.worker = ingestor, factory, settings, worker
        self.lock: Any = ingestor.lock if ingestor is not None else threading.RLock()
        # The ingest process parses each data frame in full: here the header is enough (the station, the answer).
        self._decode = hj212.decode if worker is None else hj212.decode_head
        self.tz = ZoneInfo(settings.timezone)
        self.stations: dict[str, Station] = {}
        self.loaded_at = 0.0
        self.gate = LookupGate(LOOKUP_AGAIN_SECONDS, LOOKUPS_PER_SECOND)
        self.waiting: list[Connection] = []  # connections whose chunk's data frames wait for a batch, in order
        self.queued = 0  # their data frames
        # Connections of the last batch the ingest process stored, answered once the next batch is on its way to it
        # (or when nothing waits): answering first would keep the GIL from the thread that sends the next batch.
        self.unanswered: list[Connection] = []
        self.pending: Counter[str] = Counter()  # counter deltas written with the next batch
        self.stats: Counter[str] = Counter()  # this process: connections, frames, answers, junk bytes, errors
        self.peers: dict[int, Peer] = {}
        self.server: asyncio.Server | None = None
        self.connections: set[Connection] = set()
        self._wake = asyncio.Event()
        self._reload = asyncio.Lock()
        self._flusher: asyncio.Task[None] | None = None

    # --- lifecycle --------------------------------------------------------------------------------------------
    async def start(self, host: str, port: int, reuse_port: bool = False, dedicated: bool = False) -> int:
        """Load the stations, listen, start batching; returns the bound port (port 0: a free one). `dedicated`: the
        process does nothing else (`cityloop gateway hj212`), so its garbage collector is tuned."""
        await self.refresh(force=True)
        if self.worker is not None:
            await self.worker.start()
        elif dedicated:  # load what the first batch would (registry, grid index) so the frozen heap holds it
            await asyncio.to_thread(self.ingestor.devices)  # type: ignore[union-attr]
        if dedicated:
            quiet_collector()
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(lambda: Connection(self), host, port, reuse_port=reuse_port or None)
        self._flusher = asyncio.create_task(self._flush_loop())
        bound: int = self.server.sockets[0].getsockname()[1]
        return bound

    async def close(self) -> None:
        """Stop listening, drop the connections, write what is queued."""
        if self.server is not None:
            self.server.close()
        for connection in list(self.connections):
            connection.close()
        if self._flusher is not None:
            self._flusher.cancel()
        if self.waiting or self.pending:
            await self._flush_once()
        self._answer_stored()
        if self.worker is not None:
            await self.worker.close()

    def invalidate(self) -> None:
        """Reload the stations on the next frame (the registry changed here or on another host)."""
        self.loaded_at = 0.0
        if self.worker is not None:
            self.worker.invalidate()

    async def refresh(self, force: bool = False) -> None:
        """Reload the stations when stale (force: now)."""
        if not force and time.monotonic() - self.loaded_at < RELOAD_SECONDS:
            return
        async with self._reload:
            if not force and time.monotonic() - self.loaded_at < RELOAD_SECONDS:
                return  # another connection just did
            self.stations = await asyncio.to_thread(self._read, load_stations)
            self.loaded_at = time.monotonic()
            self.gate.clear()

    async def lookup(self, mn: str) -> Station | None:
        """An MN the directory does not know (or whose password did not match), read from the database now: a
        station registered through the API — in this process or another — is accepted at once."""
        verdict = self.gate.ask(mn)
        if verdict != "look":
            if verdict == "limited":
                self.stats["lookups_skipped"] += 1
            return self.stations.get(mn)
        self.stats["lookups"] += 1
        station = await asyncio.to_thread(self._read, find_station, mn)
        if station is None:
            self.stations.pop(mn, None)
        else:
            self.stations[mn] = station
        return station

    def _read(self, query: Callable[..., T], *args: Any) -> T:
        with self.lock, self.factory() as session:  # one user of a connection at a time
            return query(session, *args)

    # --- frames -----------------------------------------------------------------------------------------------
    def judge(self, item: bytes | hj212.FrameError, conn: Connection) -> Reply:
        """One frame: the packet once admitted to its connection's chunk, the answer to a refused frame (None: no
        answer), or Pending when its station must be looked up first (looked_up)."""
        if type(item) is not bytes:
            assert isinstance(item, hj212.FrameError)
            return self._refuse(f"hj212-{item.code}", {}, conn.peer)
        try:
            packet = self._decode(item)
        except hj212.FrameError as exc:
            return self._refuse(f"hj212-{exc.code}", hj212.peek(item), conn.peer, rtn=hj212.error_rtn(exc.code))
        station = self.stations.get(packet.mn)
        if station is None or not self._password_ok(packet, station):
            conn.lookups += 1
            return Pending(packet, item)
        return self._admit(packet, item, station, conn)

    async def looked_up(self, pending: Pending, conn: Connection) -> Reply:
        """A frame whose MN is unknown or whose password did not match, after looking its station up."""
        packet = pending.packet
        station = await self.lookup(packet.mn)  # registered or changed a moment ago?
        if station is None:
            return self._refuse("unknown-device", hj212.header_fields(packet), conn.peer, rtn=4)
        if not self._password_ok(packet, station):
            return self._refuse("hj212-password", hj212.header_fields(packet), conn.peer, rtn=3)
        return self._admit(packet, pending.frame, station, conn)

    def _admit(self, packet: hj212.Packet, frame: bytes, station: Station, conn: Connection) -> hj212.Packet | None:
        conn.peer.mn = packet.mn
        if packet.cn not in hj212.INTERVALS and packet.cn not in hj212.UPLOADS:  # an answer to a command
            self.stats["ignored"] += 1
            return None
        conn.packets.append(packet)
        conn.frames.append(frame)
        conn.stations.append(station)
        return packet

    @staticmethod
    def _password_ok(packet: hj212.Packet, station: Station) -> bool:
        return hmac.compare_digest((packet.pw or "").encode("latin-1"), station.password.encode("latin-1"))

    def _refuse(self, reason: str, fields: dict[str, str], peer: Peer, rtn: int = 100,
                counted: bool = False) -> bytes | None:
        """Count a refused frame (per station when its MN is registered; `counted`: the ingest process did) and
        answer it if it asks for answers."""
        peer.errors += 1
        self.stats[f"rejected:{reason}"] += 1
        station = self.stations.get(fields.get("MN", ""))
        if not counted:
            self.pending[f"rejected:{reason}"] += 1
            if station is not None:
                self.pending[station_counter(station.device_id, reason)] += 1
            self._wake.set()
        if fields.get("MN") and hj212.wants_answer(fields):
            self.stats["answers"] += 1
            return hj212.request_answer(fields, rtn)
        return None

    def answers(self, replies: list[Reply], stored: bool) -> bytes:
        """The answers of a chunk's frames, in order, as one write (data frames only when stored)."""
        out, answered = [], 0
        for reply in replies:
            if type(reply) is bytes:
                out.append(reply)
            elif stored and type(reply) is hj212.Packet and reply.answer_required:
                out.append(hj212.data_answer(reply))
                answered += 1
        self.stats["answers"] += answered
        return b"".join(out)

    def enqueue(self, conn: Connection) -> None:
        """A connection's judged chunk: its data frames wait for the next batch."""
        self.waiting.append(conn)
        self.queued += len(conn.packets)
        self._wake.set()

    # --- batches ----------------------------------------------------------------------------------------------
    async def _flush_loop(self) -> None:
        # Adaptive batching as the MQTT subscriber does: after a quiet spell wait flush_ms so a batch can gather;
        # under load, whatever arrived while the last batch was written is the next batch.
        pause, idle = self.settings.sensor_flush_ms / 1000, True
        loop = asyncio.get_running_loop()
        while True:
            if not self.waiting and not self.pending:
                self._answer_stored()
                self._wake.clear()
                quiet = loop.time()
                await self._wake.wait()
                # The moment between a batch's answers and its stations' next frames is not a quiet spell.
                idle = loop.time() - quiet >= pause
            if idle and self.queued < MAX_PER_FLUSH:
                await asyncio.sleep(pause)
            idle = False
            if not await self._flush_once():
                await asyncio.sleep(0.5)  # the database is busy or down: the stations will send again

    async def _flush_once(self) -> bool:
        # Whole chunks (a chunk is answered in one write), up to about MAX_PER_FLUSH frames.
        waiting, count, taken = self.waiting, 0, 0
        while taken < len(waiting) and count < MAX_PER_FLUSH:
            count += len(waiting[taken].packets)
            taken += 1
        conns, self.waiting = waiting[:taken], waiting[taken:]
        self.queued -= count
        packets: list[hj212.Packet] = []
        frames: list[bytes] = []
        stations: list[Station] = []
        for conn in conns:
            packets += conn.packets
            frames += conn.frames
            stations += conn.stations
        counts, self.pending = self.pending, Counter()
        loop = asyncio.get_running_loop()

        def sent() -> None:  # on the worker's thread: the last stored batch is answered on the loop
            with contextlib.suppress(RuntimeError):  # the loop closed while a cancelled batch was sent
                loop.call_soon_threadsafe(self._answer_stored)

        ok = False
        try:
            if self.worker is not None:
                result, refused = await self.worker.store(frames, stations, counts, sent)
                if refused:
                    self._refused_late(conns, dict(refused))
            else:
                result = await asyncio.to_thread(self.ingest, packets, stations, counts)
            ok = True
            self.stats["readings"] += result.accepted
            self.stats["intervals"] += result.intervals
            self.stats["events"] += result.events
        except Exception:  # noqa: BLE001 - one failed batch never stops the listener
            log.exception("HJ 212 batch of %d frames failed", len(packets))
            self.pending.update(counts)
        finally:  # also when cancelled (closing): unanswered frames are sent again by their stations
            self._answer_stored()  # the last stored batch, should this one not have been sent
            if ok and self.worker is not None:
                self.unanswered = conns
            else:
                _answer(conns, ok)
        return ok

    def _answer_stored(self) -> None:
        """Answer the last batch the ingest process stored, if not yet answered (on the loop)."""
        _answer(self.unanswered, True)
        self.unanswered = []

    def _refused_late(self, conns: list[Connection], refused: dict[int, str]) -> None:
        """Frames of a batch the ingest process found malformed past their header (by index: error code): refused
        and answered as judge() refuses them (the process counted them in the batch's transaction)."""
        at = 0
        for conn in conns:
            for j, (packet, frame) in enumerate(zip(conn.packets, conn.frames)):
                code = refused.get(at + j)
                if code is not None:
                    answer = self._refuse(f"hj212-{code}", hj212.peek(frame), conn.peer, hj212.error_rtn(code), True)
                    replies = conn.replies
                    replies[next(k for k, reply in enumerate(replies) if reply is packet)] = answer
            at += len(conn.packets)

    def ingest(self, packets: list[hj212.Packet], stations: list[Station], counts: dict[str, int]) -> Result:
        """Hand a batch of data packets to this process's ingestor (on a thread)."""
        assert self.ingestor is not None  # without a worker the listener has one
        return store_batch(self.ingestor, self.settings, self.tz, packets, stations, counts)


def _answer(conns: list[Connection], ok: bool) -> None:
    for conn in conns:
        conn.stored(ok)
