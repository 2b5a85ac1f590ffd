"""The HJ 212 listener (`cityloop gateway hj212`, and the demo server): asyncio TCP, one Protocol per connection.

Each connection splits and decodes its own frames as they arrive; a station is known by its MN and password
(registered devices only). Data frames go to the ingestor in batches on a thread — one transaction per batch, never
one per frame — and each read is answered (9014) in one write once its batch is committed. A broken frame is counted
(in all and per station) and answered with 9011 when it asks for answers; nothing one connection sends can affect
another."""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, NamedTuple, TypeVar, cast
from zoneinfo import ZoneInfo

from sqlalchemy import select

from cityloop.sensors import hj212
from cityloop.sensors.models import Device, StationEvent
from cityloop.sensors.pipeline import Ingestor, Result
from cityloop.sensors.readings import Interval, Reading, Reject, from_packet
from cityloop.shared.lookup_gate import LookupGate
from cityloop.config import Settings
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger("cityloop.sensors.hj212")
T = TypeVar("T")
MAX_PER_FLUSH = 2_000  # frames per batch: bounds a batch's time, hence the answers' delay
RELOAD_SECONDS = 60.0  # registry changes (removed stations, new passwords) are seen within this time …
LOOKUP_AGAIN_SECONDS = 1.0  # … while an unknown MN or a wrong password is looked up in the database at once, at
LOOKUPS_PER_SECOND = 50  # most once a second per MN and this often in all (so random MNs cannot flood the database)
READ_BYTES = 65_536


class Station(NamedTuple):
    """A registered HJ 212 station."""

    device_id: int
    code: str
    password: str


def load_stations(session: Session) -> dict[str, Station]:
    """Registered HJ 212 stations by MN."""
    rows = session.execute(select(Device.hj212_mn, Device.id, Device.code, Device.hj212_password)
                           .where(Device.hj212_mn.is_not(None)))
    return {mn: Station(device_id, code, password or "") for mn, device_id, code, password in rows if mn is not None}


def find_station(session: Session, mn: str) -> Station | None:
    """One registered HJ 212 station by MN (a station registered a moment ago, maybe by another process)."""
    row = session.execute(select(Device.id, Device.code, Device.hj212_password).where(Device.hj212_mn == mn)).first()
    return None if row is None else Station(row[0], row[1], row[2] or "")


def station_counter(device_id: int, reason: str) -> str:
    """The name of a station's own counter of a refusal reason (sensor_counters)."""
    return f"hj212:{device_id}:{reason}"


class Pending(NamedTuple):
    """A frame whose station must be looked up (unknown MN or wrong password) before it is judged."""

    packet: hj212.Packet


Reply = hj212.Packet | Pending | bytes | None  # a data frame answered once stored, a lookup, an answer, none


@dataclass
class Peer:
    """One connection, for the stations view."""

    address: str
    since: float
    mn: str | None = None
    frames: int = 0
    errors: int = 0
    last_at: float = 0.0


class Listener:
    """The HJ 212 TCP listener of one process, feeding that process's ingestor."""

    def __init__(self, ingestor: Ingestor, factory: sessionmaker[Session], settings: Settings) -> None:
        self.ingestor, self.factory, self.settings = ingestor, factory, settings
        self.tz = ZoneInfo(settings.timezone)
        self.stations: dict[str, Station] = {}
        self.loaded_at = 0.0
        self.gate = LookupGate(LOOKUP_AGAIN_SECONDS, LOOKUPS_PER_SECOND)
        self.waiting: list[Connection] = []  # connections whose chunk's data frames wait for a batch, in order
        self.queued = 0  # their data frames
        self.pending: Counter[str] = Counter()  # counter deltas written with the next batch
        self.stats: Counter[str] = Counter()  # this process: connections, frames, answers, junk bytes, errors
        self.peers: dict[int, Peer] = {}
        self.server: asyncio.Server | None = None
        self.connections: set[Connection] = set()
        self._wake = asyncio.Event()
        self._reload = asyncio.Lock()
        self._flusher: asyncio.Task[None] | None = None

    # --- lifecycle --------------------------------------------------------------------------------------------
    async def start(self, host: str, port: int, reuse_port: bool = False) -> int:
        """Load the stations, listen, start batching; returns the bound port (port 0: a free one)."""
        await self.refresh(force=True)
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

    def invalidate(self) -> None:
        """Reload the stations on the next frame (the registry changed here or on another host)."""
        self.loaded_at = 0.0

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
        with self.ingestor.lock, self.factory() as session:  # one user of a connection at a time
            return query(session, *args)

    # --- frames -----------------------------------------------------------------------------------------------
    def judge(self, item: bytes | hj212.FrameError, conn: Connection) -> Reply:
        """One frame: the packet once admitted to its connection's chunk, the answer to a refused frame (None: no
        answer), or Pending when its station must be looked up first (looked_up)."""
        if type(item) is not bytes:
            assert isinstance(item, hj212.FrameError)
            return self._refuse(f"hj212-{item.code}", {}, conn.peer)
        try:
            packet = hj212.decode(item)
        except hj212.FrameError as exc:
            return self._refuse(f"hj212-{exc.code}", hj212.peek(item), conn.peer, rtn=hj212.error_rtn(exc.code))
        station = self.stations.get(packet.mn)
        if station is None or not self._password_ok(packet, station):
            conn.lookups += 1
            return Pending(packet)
        return self._admit(packet, station, conn)

    async def looked_up(self, packet: hj212.Packet, conn: Connection) -> Reply:
        """A frame whose MN is unknown or whose password did not match, after looking its station up."""
        station = await self.lookup(packet.mn)  # registered or changed a moment ago?
        if station is None:
            return self._refuse("unknown-device", hj212.header_fields(packet), conn.peer, rtn=4)
        if not self._password_ok(packet, station):
            return self._refuse("hj212-password", hj212.header_fields(packet), conn.peer, rtn=3)
        return self._admit(packet, station, conn)

    def _admit(self, packet: hj212.Packet, station: Station, conn: Connection) -> hj212.Packet | None:
        conn.peer.mn = packet.mn
        if packet.cn not in hj212.INTERVALS and packet.cn not in hj212.UPLOADS:  # an answer to a command
            self.stats["ignored"] += 1
            return None
        conn.packets.append(packet)
        conn.stations.append(station)
        return packet

    @staticmethod
    def _password_ok(packet: hj212.Packet, station: Station) -> bool:
        return hmac.compare_digest((packet.pw or "").encode("latin-1"), station.password.encode("latin-1"))

    def _refuse(self, reason: str, fields: dict[str, str], peer: Peer, rtn: int = 100) -> bytes | None:
        """Count a refused frame (per station when its MN is registered) and answer it if it asks for answers."""
        peer.errors += 1
        self.stats[f"rejected:{reason}"] += 1
        self.pending[f"rejected:{reason}"] += 1
        station = self.stations.get(fields.get("MN", ""))
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
        while True:
            if not self.waiting and not self.pending:
                idle = True
                self._wake.clear()
                await self._wake.wait()
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
        stations: list[Station] = []
        for conn in conns:
            packets += conn.packets
            stations += conn.stations
        counts, self.pending = self.pending, Counter()
        ok = False
        try:
            result = await asyncio.to_thread(self.ingest, packets, stations, counts)
            ok = True
            self.stats["readings"] += result.accepted
            self.stats["intervals"] += result.intervals
        except Exception:  # noqa: BLE001 - one failed batch never stops the listener
            log.exception("HJ 212 batch of %d frames failed", len(packets))
            self.pending.update(counts)
        finally:  # also when cancelled (closing): unanswered frames are sent again by their stations
            for conn in conns:
                conn.stored(ok)
        return ok

    def ingest(self, packets: list[hj212.Packet], stations: list[Station], counts: dict[str, int]) -> Result:
        """Turn data packets into readings and intervals and hand them to the ingestor as one batch (a thread)."""
        ingestor, s = self.ingestor, self.settings
        uploads = [(p, st) for p, st in zip(packets, stations) if p.cn in hj212.UPLOADS]
        if uploads:  # first: should they fail, the whole batch is sent again
            self._store_events(uploads)
            data = [(p, st) for p, st in zip(packets, stations) if p.cn not in hj212.UPLOADS]
            packets, stations = [p for p, _ in data], [st for _, st in data]
        refs = ingestor.devices()
        if any(st.code not in refs for st in stations):
            refs = ingestor.devices(refresh=True)
        now = ingestor.clock.now().timestamp()
        readings: list[Reading] = []
        intervals: list[Interval] = []
        rejected: list[tuple[int, Reject]] = []
        tz, max_future, max_age = self.tz, s.sensor_max_future_s, s.sensor_retention_days * 86400.0
        epochs: dict[datetime, float] = {}
        get = refs.get
        for i, (packet, station) in enumerate(zip(packets, stations)):
            got = from_packet(packet, get(station.code), now, tz, max_future, max_age, epochs)
            if type(got) is Reading:
                readings.append(got)
            elif type(got) is Interval:
                intervals.append(got)
            else:
                assert isinstance(got, Reject)
                rejected.append((i, got))
        return ingestor.accept(readings, rejected, intervals, counts)

    def _store_events(self, uploads: list[tuple[hj212.Packet, Station]]) -> None:
        """Keep station uploads that are not data (boot time, running status …) as station events."""
        received = self.ingestor.clock.now()
        rows = [StationEvent(device_id=station.device_id, cn=packet.cn, received_at=received,
                             data_time=self._utc(packet.data_time), values=hj212.event_values(packet))
                for packet, station in uploads]
        with self.ingestor.lock, self.ingestor.factory() as session:
            session.add_all(rows)
            session.commit()
        self.stats["events"] += len(rows)

    def _utc(self, local: datetime | None) -> datetime | None:
        """A station's local DataTime in UTC; None when absent or out of range (year 1 is a valid DataTime)."""
        try:
            return None if local is None else local.replace(tzinfo=self.tz).astimezone(timezone.utc)
        except (OverflowError, ValueError):
            return None


class Connection(asyncio.Protocol):
    """One station's connection. Each received chunk is split, judged and queued at once; the chunk is answered
    in one write when its batch is stored. Meanwhile what arrives waits in `backlog`, and reading pauses once
    READ_BYTES wait (or the answers cannot be sent): a station cannot make the listener hold more."""

    def __init__(self, listener: Listener) -> None:
        self.listener = listener
        self.loop = asyncio.get_running_loop()
        self.splitter = hj212.FrameReader()
        self.transport: asyncio.Transport | None = None
        self.peer = Peer("", time.time())
        self.replies: list[Reply] = []  # the chunk's frames, in order
        self.packets: list[hj212.Packet] = []  # the chunk's data frames and their stations, for the batch
        self.stations: list[Station] = []
        self.lookups = 0  # Pending replies of the chunk
        self.busy = False  # a chunk is being judged or waits for its batch
        self.backlog = bytearray()
        self.paused = self.blocked = self.eof = False  # reading paused; writing paused by the transport; EOF seen
        self.idle = listener.settings.sensor_hj212_idle_seconds
        self.heard = self.loop.time()  # when the station last sent, or was last answered
        self.timer: asyncio.TimerHandle | None = None
        self.task: asyncio.Task[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport = cast(asyncio.Transport, transport)  # uvloop's are not its subclasses
        self.peer.address = str(transport.get_extra_info("peername"))
        self.listener.peers[id(self)] = self.peer
        self.listener.connections.add(self)
        self.listener.stats["connections"] += 1
        self.timer = self.loop.call_later(self.idle, self._idle)

    def connection_lost(self, exc: Exception | None) -> None:
        self.listener.peers.pop(id(self), None)
        self.listener.connections.discard(self)
        if self.timer is not None:
            self.timer.cancel()
        self.transport = None

    def close(self) -> None:
        """Hang up."""
        if self.transport is not None:
            self.transport.close()

    def _idle(self) -> None:
        # A station silent for `idle` seconds while the listener waits for it is hung up on.
        wait = self.idle if self.busy or self.blocked else self.heard + self.idle - self.loop.time()
        if wait <= 0:
            self.close()
        else:
            self.timer = self.loop.call_later(wait, self._idle)

    def data_received(self, data: bytes) -> None:
        self.heard = self.loop.time()
        if self.busy or self.blocked or self.backlog:  # in order, after the chunk being answered
            self.backlog += data
            if len(self.backlog) >= READ_BYTES and not self.paused and self.transport is not None:
                self.paused = True
                self.transport.pause_reading()
            return
        self._chunk(data)

    def eof_received(self) -> bool:
        if not self.busy and not self.blocked and not self.backlog:
            return False  # close
        self.eof = True  # answer what was sent first
        return True

    def pause_writing(self) -> None:
        self.blocked = True

    def resume_writing(self) -> None:
        self.blocked = False
        if not self.busy:
            self._next()

    def _chunk(self, data: bytes) -> None:
        """Split, count and judge one chunk (the lookups and a stale directory's reload on a task)."""
        listener, splitter = self.listener, self.splitter
        self.busy = True
        try:
            junk = splitter.junk
            items = splitter.feed(data)
            listener.stats["junk_bytes"] += splitter.junk - junk
            if not items:
                self.stored(True)
                return
            peer = self.peer
            peer.frames += len(items)
            peer.last_at = time.time()
            listener.stats["frames"] += len(items)
            if time.monotonic() - listener.loaded_at >= RELOAD_SECONDS:
                self.task = self.loop.create_task(self._later(items))
                return
            judge = listener.judge
            self.replies = [judge(item, self) for item in items]
            if self.lookups:
                self.task = self.loop.create_task(self._later(None))
            else:
                self._judged()
        except Exception:  # noqa: BLE001 - a bug must cost this connection only, and be seen
            self._failed()

    async def _later(self, items: list[bytes | hj212.FrameError] | None) -> None:
        """The chunk's frames after reloading the directory (items) or with their lookups done (None)."""
        listener = self.listener
        try:
            if items is not None:
                await listener.refresh()
                self.replies = [listener.judge(item, self) for item in items]
            replies = self.replies
            for i, reply in enumerate(replies):
                if type(reply) is Pending:
                    replies[i] = await listener.looked_up(reply.packet, self)
            self._judged()
        except Exception:  # noqa: BLE001 - as in _chunk
            self._failed()

    def _judged(self) -> None:
        self.lookups = 0
        if self.packets:
            self.listener.enqueue(self)
        else:
            self.stored(True)

    def stored(self, ok: bool) -> None:
        """The chunk's batch is written (ok) or failed: answer the chunk, then take what arrived meanwhile."""
        try:
            out = self.listener.answers(self.replies, ok)
            if out and self.transport is not None and not self.transport.is_closing():
                self.transport.write(out)
        except Exception:  # noqa: BLE001 - as in _chunk
            self._failed()
        self.replies, self.packets, self.stations = [], [], []
        self.heard, self.busy, self.task = self.loop.time(), False, None
        self._next()

    def _next(self) -> None:
        if self.busy or self.blocked or self.transport is None or self.transport.is_closing():
            return
        if self.backlog:
            data = bytes(self.backlog[:READ_BYTES])
            del self.backlog[:READ_BYTES]
            self._chunk(data)
        elif self.eof:
            self.close()
        elif self.paused:
            self.paused = False
            self.transport.resume_reading()

    def _failed(self) -> None:
        log.exception("HJ 212 connection from %s failed", self.peer.address)
        self.close()
