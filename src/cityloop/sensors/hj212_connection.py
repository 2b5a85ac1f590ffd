"""One HJ 212 station's TCP connection (an asyncio Protocol): split, judge and queue each received chunk, answer
it in one write once its batch is stored."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, cast

from cityloop.sensors import hj212
from cityloop.sensors.hj212_common import READ_BYTES, RELOAD_SECONDS, Peer, Pending, Reply, Station

if TYPE_CHECKING:
    from cityloop.sensors.hj212_listener import Listener

log = logging.getLogger("cityloop.sensors.hj212")


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
        self.packets: list[hj212.Packet] = []  # the chunk's data frames (decoded, as received) and their stations
        self.frames: list[bytes] = []
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
                    replies[i] = await listener.looked_up(reply, self)
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
        self.replies, self.packets, self.frames, self.stations = [], [], [], []
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
