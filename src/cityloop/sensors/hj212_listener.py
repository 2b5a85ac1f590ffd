"""The HJ 212 listener (`cityloop gateway hj212`, and the demo server): asyncio TCP, one task per connection.

Each connection splits and decodes its own frames; a station is known by its MN and password (registered devices
only). Data frames go to the ingestor in batches — one transaction per batch, never one per frame — and are
answered (9014) once their batch is committed. A broken frame is counted (in all and per station) and answered
with 9011 when it asks for answers; nothing one connection sends can affect another."""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, NamedTuple, TypeVar
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


@dataclass(slots=True)
class Work:
    """A data frame waiting for its batch: ok once stored; the last frame of a read carries the future its
    connection waits on (batches are written in queue order, so the read's other frames are done by then)."""

    packet: hj212.Packet
    station: Station
    future: asyncio.Future[bool] | None = None
    ok: bool | None = None  # None: not written yet


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
        self.queue: list[Work] = []
        self.pending: Counter[str] = Counter()  # counter deltas written with the next batch
        self.stats: Counter[str] = Counter()  # this process: connections, frames, answers, junk bytes, errors
        self.peers: dict[int, Peer] = {}
        self.server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._wake = asyncio.Event()
        self._reload = asyncio.Lock()
        self._flusher: asyncio.Task[None] | None = None

    # --- lifecycle --------------------------------------------------------------------------------------------
    async def start(self, host: str, port: int, reuse_port: bool = False) -> int:
        """Load the stations, listen, start batching; returns the bound port (port 0: a free one)."""
        await self.refresh(force=True)
        self.server = await asyncio.start_server(self._serve, host, port, reuse_port=reuse_port or None)
        self._flusher = asyncio.create_task(self._flush_loop())
        bound: int = self.server.sockets[0].getsockname()[1]
        return bound

    async def close(self) -> None:
        """Stop listening, drop the connections, write what is queued."""
        if self.server is not None:
            self.server.close()
        for writer in list(self._writers):
            writer.close()
        if self._flusher is not None:
            self._flusher.cancel()
        if self.queue or self.pending:
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

    # --- connections ------------------------------------------------------------------------------------------
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = Peer(str(writer.get_extra_info("peername")), time.time())
        self.peers[id(writer)] = peer
        self._writers.add(writer)
        self.stats["connections"] += 1
        splitter = hj212.FrameReader()
        try:
            while True:
                try:
                    async with asyncio.timeout(self.settings.sensor_hj212_idle_seconds):
                        data = await reader.read(READ_BYTES)
                except TimeoutError:
                    break
                if not data:
                    break
                junk = splitter.junk
                if time.monotonic() - self.loaded_at >= RELOAD_SECONDS:
                    await self.refresh()
                items = splitter.feed(data)
                self.stats["junk_bytes"] += splitter.junk - junk
                if not items:
                    continue
                peer.frames += len(items)
                peer.last_at = time.time()
                self.stats["frames"] += len(items)
                replies: list[Work | bytes | None] = []
                last: Work | None = None
                for item in items:
                    got = self._frame(item, peer)
                    reply = await self._looked_up(got, peer) if isinstance(got, hj212.Packet) else got
                    if type(reply) is Work:
                        last = reply
                    replies.append(reply)
                if last is not None and last.ok is None:  # not written yet (a lookup above may have let it be)
                    last.future = asyncio.get_running_loop().create_future()
                    self._wake.set()
                    await last.future
                answer = self._answer
                out = b"".join([a for a in (answer(r) if isinstance(r, Work) else r for r in replies) if a])
                if out:
                    writer.write(out)
                    await writer.drain()
        except (ConnectionError, OSError):
            pass
        except Exception:  # noqa: BLE001 - a bug must cost this connection only, and be seen
            log.exception("HJ 212 connection from %s failed", peer.address)
        finally:
            self.peers.pop(id(writer), None)
            self._writers.discard(writer)
            writer.close()

    def _frame(self, item: bytes | hj212.FrameError, peer: Peer) -> Work | bytes | hj212.Packet | None:
        """One frame: a Work for its batch, or the answer to a refused frame (None: no answer); the packet when
        its station must be looked up first (_looked_up)."""
        if isinstance(item, hj212.FrameError):
            return self._refuse(f"hj212-{item.code}", {}, peer)
        try:
            packet = hj212.decode(item)
        except hj212.FrameError as exc:
            return self._refuse(f"hj212-{exc.code}", hj212.peek(item), peer, rtn=hj212.error_rtn(exc.code))
        station = self.stations.get(packet.mn)
        if station is None or not self._password_ok(packet, station):
            return packet
        return self._admit(packet, station, peer)

    async def _looked_up(self, packet: hj212.Packet, peer: Peer) -> Work | bytes | None:
        """A frame whose MN is unknown or whose password did not match, after looking its station up."""
        station = await self.lookup(packet.mn)  # registered or changed a moment ago?
        if station is None:
            return self._refuse("unknown-device", hj212.header_fields(packet), peer, rtn=4)
        if not self._password_ok(packet, station):
            return self._refuse("hj212-password", hj212.header_fields(packet), peer, rtn=3)
        return self._admit(packet, station, peer)

    def _admit(self, packet: hj212.Packet, station: Station, peer: Peer) -> Work | None:
        peer.mn = packet.mn
        if packet.cn not in hj212.INTERVALS and packet.cn not in hj212.UPLOADS:  # an answer to a command
            self.stats["ignored"] += 1
            return None
        work = Work(packet, station)
        self.queue.append(work)
        return work

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

    def _answer(self, work: Work) -> bytes | None:
        if work.ok and work.packet.answer_required:
            self.stats["answers"] += 1
            return hj212.data_answer(work.packet)
        return None  # not stored: no answer, so the station sends it again

    # --- batches ----------------------------------------------------------------------------------------------
    async def _flush_loop(self) -> None:
        # Adaptive batching as the MQTT subscriber does: after a quiet spell wait flush_ms so a batch can gather;
        # under load, whatever arrived while the last batch was written is the next batch.
        pause, idle = self.settings.sensor_flush_ms / 1000, True
        while True:
            if not self.queue and not self.pending:
                idle = True
                self._wake.clear()
                await self._wake.wait()
            if idle and len(self.queue) < MAX_PER_FLUSH:
                await asyncio.sleep(pause)
            idle = False
            if not await self._flush_once():
                await asyncio.sleep(0.5)  # the database is busy or down: the stations will send again

    async def _flush_once(self) -> bool:
        works, self.queue = self.queue[:MAX_PER_FLUSH], self.queue[MAX_PER_FLUSH:]
        counts, self.pending = self.pending, Counter()
        ok = False
        try:
            result = await asyncio.to_thread(self.ingest, [w.packet for w in works], [w.station for w in works],
                                             counts)
            ok = True
            self.stats["readings"] += result.accepted
            self.stats["intervals"] += result.intervals
        except Exception:  # noqa: BLE001 - one failed batch never stops the listener
            log.exception("HJ 212 batch of %d frames failed", len(works))
            self.pending.update(counts)
        finally:  # also when cancelled (closing): unanswered frames are sent again by their stations
            for work in works:
                work.ok = ok
                if work.future is not None and not work.future.done():
                    work.future.set_result(ok)
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
