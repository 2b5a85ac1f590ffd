"""The JT/T 808 TCP gateway (asyncio): one protocol object per connection decodes frames, answers at once
(0x8001 / 0x8100) and puts positions on an in-memory list that is handed to a sink in batches, so no message
waits for the database and no connection waits for another.

A connection's garbage stays its own: undecodable frames are answered with 0x8001 result 2 when their header is
readable and dropped otherwise; a frame that never ends is cut at 4 KB; unauthenticated traffic gets result 1;
only an idle connection (no bytes for idle_seconds) is closed."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import struct
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from cityloop.fleet import jt808 as j
from cityloop.fleet.jt808 import STATUS_FIXED
from cityloop.fleet.domain import FLAG_BACKFILL, FLAG_BAD_CHECKSUM, Fix

log = logging.getLogger("cityloop.jt808")
_LOCATION_OK = struct.pack(">HB", j.LOCATION, j.OK)  # the end of a 0x8001 answer to a location
_ANSWER = struct.Struct(">H2s3sBB")  # the rest of a 0x8001 answer to a location: serial, reply serial, reply id
# and result, checksum, flag


@dataclass(frozen=True)
class Terminal:
    """What the gateway knows about a registered terminal."""

    vehicle_id: int
    plate: str
    auth_code: str


def issue_auth_code(secret: str, terminal_key: str) -> str:
    """The auth code the platform issues in 0x8100: stable per terminal, so every later connection can use it."""
    return hmac.new(secret.encode(), f"jt808:{terminal_key}".encode(), hashlib.sha256).hexdigest()[:16]


class Gateway:
    """Sessions, counters and the position hand-off; `directory(terminal_key)` finds registered terminals and
    `sink(fixes)` receives (vehicle_id, t, lon, lat, speed, heading, alarm, status, flags) tuples."""

    def __init__(self, directory: Callable[[str], Terminal | None], sink: Callable[[list[Fix]], None], *,
                 accept_bad_checksum: bool = True, idle_seconds: float = 200.0, flush_seconds: float = 0.2,
                 clock: Callable[[], float] = time.time) -> None:
        self.directory, self.sink, self.clock = directory, sink, clock
        self.accept_bad_checksum, self.idle_seconds = accept_bad_checksum, idle_seconds
        self.flush_seconds = flush_seconds
        self.sessions: set[Session] = set()
        self.stats: Counter[str] = Counter()
        self.pending: list[Fix] = []
        self.server: asyncio.base_events.Server | None = None

    async def start(self, host: str, port: int) -> int:
        """Listen; returns the bound port (pass 0 for any free port)."""
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(lambda: Session(self), host, port, backlog=4096, reuse_address=True)
        bound: int = self.server.sockets[0].getsockname()[1]
        return bound

    async def serve(self, host: str, port: int, started: Callable[[int], None] | None = None) -> None:
        """Listen and keep flushing positions and closing idle connections until cancelled."""
        bound = await self.start(host, port)
        if started:
            started(bound)
        try:
            await self.housekeeping()
        finally:
            self.close()

    async def housekeeping(self) -> None:
        """Every flush interval: hand over positions; every few seconds: close idle connections."""
        last_sweep = self.clock()
        while True:
            await asyncio.sleep(self.flush_seconds)
            self.flush()
            now = self.clock()
            if now - last_sweep >= 5:
                last_sweep = now
                for s in [s for s in self.sessions if now - s.last_seen > self.idle_seconds]:
                    self.stats["idle_closed"] += 1
                    s.transport.close()

    def flush(self) -> None:
        """Hand the positions received so far to the sink."""
        if self.pending:
            batch, self.pending = self.pending, []
            try:
                self.sink(batch)
            except Exception:  # noqa: BLE001 - a failing sink must not stop the gateway
                self.stats["sink_errors"] += 1
                log.exception("position sink failed")

    def close(self) -> None:
        """Stop listening, close every connection and hand over what is left."""
        if self.server is not None:
            self.server.close()
        for s in list(self.sessions):
            s.transport.close()
        self.flush()

    def online(self) -> dict[int, float]:
        """Vehicle id → last time its authenticated connection sent anything."""
        return {s.terminal.vehicle_id: s.last_seen for s in self.sessions if s.terminal is not None}


class Session(asyncio.Protocol):
    """One terminal connection."""

    def __init__(self, gateway: Gateway) -> None:
        self.gw = gateway
        self.buffer = j.FrameBuffer()
        self.terminal: Terminal | None = None
        self.phone: str | None = None
        self.serial = 0
        self.last_seen = gateway.clock()
        self.reassembler: j.Reassembler | None = None
        self.transport: asyncio.Transport
        # Set once a 2013 terminal authenticates: the phone as sent and the fixed start of every 0x8001 answer.
        self.fast_phone = b""
        self.fast_head = b""
        self.fast_xor = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # a stream server's transports are Transports
        self.gw.sessions.add(self)
        self.gw.stats["connections"] += 1

    def connection_lost(self, exc: Exception | None) -> None:
        self.gw.sessions.discard(self)

    def pause_writing(self) -> None:  # the client does not read its answers: stop reading from it meanwhile
        self.transport.pause_reading()

    def resume_writing(self) -> None:
        self.transport.resume_reading()

    def data_received(self, data: bytes) -> None:
        self.last_seen = self.gw.clock()
        # The common case, one whole plain 2013 0x0200 from this authenticated terminal, takes the fast path.
        if self.fast_phone and self.buffer.at_rest:
            raw = j.plain_location(data, self.fast_phone)
            if raw is not None and self.terminal is not None:
                self.location_fast(raw, self.terminal.vehicle_id)
                return
        out: list[bytes] = []
        overflows = self.buffer.overflows
        for raw in self.buffer.feed(data):
            try:
                self.handle(raw, out)
            except Exception:  # noqa: BLE001 - a decoder bug must cost one frame, never the connection
                self.gw.stats["errors"] += 1
                log.exception("frame handling failed")
        self.gw.stats["overflows"] += self.buffer.overflows - overflows
        if out:
            self.transport.write(b"".join(out))

    def location_fast(self, raw: bytes, vid: int) -> None:
        """A plain 0x0200 frame (unescaped by jt808.plain_location) handled without building a Header and Frame:
        queued as queue() would, answered as reply() would, from the session's prefix."""
        self.buffer.took_whole()
        self.gw.stats["frames"] += 1
        self.queue(vid, raw, 0, 13)  # the body is read in place: after the flag and the 12 bytes of a 2013 header
        # The answer: 0x8001 with result OK (a body of 28 bytes or more always decodes).
        serial = self.serial = (self.serial + 1) & 0xFFFF
        x = self.fast_xor ^ (serial >> 8) ^ (serial & 0xFF) ^ raw[11] ^ raw[12] ^ 0x02
        answer = _ANSWER.pack(serial, raw[11:13], _LOCATION_OK, x, 0x7E)
        if len(answer.translate(None, b"\x7d\x7e")) != 8:  # a byte to escape (rare): answer[:-1] is escaped
            answer = j.escape(answer[:-1]) + b"\x7e"
        self.transport.write(self.fast_head + answer)

    def reply(self, h: j.Header, result: int) -> bytes:
        self.serial = (self.serial + 1) & 0xFFFF
        return j.encode_frame(j.PLATFORM_RESPONSE, h.phone, self.serial,
                              j.encode_general_response(h.serial, h.msg_id, result), version=h.version)

    def handle(self, raw: bytes, out: list[bytes]) -> None:
        """Decode one frame, act on it and append the answer (if any) to out."""
        stats = self.gw.stats
        try:
            frame = j.decode_frame(raw)
        except j.FrameError as exc:
            stats["bad_frames"] += 1
            if exc.header is not None:
                out.append(self.reply(exc.header, j.BAD_MESSAGE))
            return
        h, body, flags = frame.header, frame.body, 0
        stats["frames"] += 1
        if not frame.checksum_ok or frame.bad_escapes:
            stats["bad_checksum"] += 1
            flags = FLAG_BAD_CHECKSUM
            if not self.gw.accept_bad_checksum:
                out.append(self.reply(h, j.BAD_MESSAGE))
                return
        if h.total:  # a sub-package: acknowledge it, act once the message is whole (other messages may come between)
            self.reassembler = self.reassembler or j.Reassembler()
            if h.total > self.reassembler.max_packages or not 1 <= (h.index or 0) <= h.total:
                stats["bad_frames"] += 1
                out.append(self.reply(h, j.BAD_MESSAGE))
                return
            out.append(self.reply(h, j.OK))
            whole = self.reassembler.add(h, body, self.last_seen)
            if whole is None:
                return
            body, answer = whole, []
        else:
            answer = out
        mid = h.msg_id
        if mid == j.REGISTER:
            self.register(h, body, answer)
        elif mid == j.AUTHENTICATE:
            self.authenticate(h, body, answer)
        elif mid in (j.LOCATION, j.BATCH, j.LOCATION_ANSWER):
            if self.terminal is None or h.phone != self.phone:
                stats["unauthenticated"] += 1
                answer.append(self.reply(h, j.FAIL))
            else:
                answer.append(self.reply(h, j.OK if self.locations(mid, body, flags) else j.BAD_MESSAGE))
        elif mid in (j.HEARTBEAT, j.LOGOUT):
            answer.append(self.reply(h, j.OK))
            if mid == j.LOGOUT:
                self.terminal, self.fast_phone, self.fast_head = None, b"", b""
        elif mid != j.TERMINAL_RESPONSE:
            stats["unsupported"] += 1
            answer.append(self.reply(h, j.UNSUPPORTED))

    def register(self, h: j.Header, body: bytes, out: list[bytes]) -> None:
        try:
            j.decode_register(body, h.version is not None)
        except j.FrameError:
            self.gw.stats["bad_frames"] += 1  # answered below all the same: the phone number is what counts
        terminal = self.gw.directory(h.terminal_key)
        if terminal is None:
            self.gw.stats["unknown_terminals"] += 1
        self.serial = (self.serial + 1) & 0xFFFF
        body = j.encode_register_response(h.serial, 4 if terminal is None else j.OK,
                                          terminal.auth_code if terminal else "")
        out.append(j.encode_frame(j.REGISTER_RESPONSE, h.phone, self.serial, body, version=h.version))

    def authenticate(self, h: j.Header, body: bytes, out: list[bytes]) -> None:
        try:
            code = j.decode_auth(body, h.version is not None)[0]
        except j.FrameError:
            code = ""
        terminal = self.gw.directory(h.terminal_key)
        if terminal is not None and hmac.compare_digest(code.encode(), terminal.auth_code.encode()):
            self.terminal, self.phone = terminal, h.phone
            if h.version is None:
                self.fast_phone = bytes.fromhex(h.phone)
                head = struct.pack(">HH", j.PLATFORM_RESPONSE, 5) + self.fast_phone
                self.fast_xor = j.checksum(head)
                self.fast_head = b"\x7e" + j.escape(head)
            else:
                self.fast_phone = self.fast_head = b""
            self.gw.stats["authenticated"] += 1
            out.append(self.reply(h, j.OK))
        else:
            self.gw.stats["auth_failed"] += 1
            out.append(self.reply(h, j.FAIL))

    def locations(self, mid: int, body: bytes, flags: int) -> bool:
        """Queue the positioned fixes of a 0x0200 / 0x0201 / 0x0704 body; False if nothing could be decoded."""
        if mid == j.BATCH:
            try:
                kind, items = j.decode_batch(body)
            except j.FrameError:
                return False
            flags |= FLAG_BACKFILL if kind == 1 else 0
        else:
            items = [body[2:] if mid == j.LOCATION_ANSWER else body]
        if self.terminal is None:  # only an authenticated terminal's positions come here
            return False
        vid = self.terminal.vehicle_id
        decoded = [self.queue(vid, item, flags) for item in items]
        return any(decoded)

    def queue(self, vid: int, body: bytes, flags: int, offset: int = 0) -> bool:
        """Queue the fix of one 0x0200 body (at `offset` in `body`) when it is positioned; False if the body does
        not decode."""
        fix = j.location_fix(body, offset)
        if fix is None:
            self.gw.stats["dropped_positions"] += 1
            return False
        alarm, status, lon, lat, speed, heading, t = fix
        if t is not None and status & STATUS_FIXED:
            self.gw.pending.append((vid, t, lon, lat, speed, heading, alarm, status, flags))
            self.gw.stats["positions"] += 1
        else:
            self.gw.stats["dropped_positions"] += 1  # no fix (or no valid time): nothing to place
        return True
