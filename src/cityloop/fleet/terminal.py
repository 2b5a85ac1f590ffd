"""A JT/T 808 terminal over asyncio streams: register, authenticate, heartbeat, report locations (one at a time
or in a 0x0704 batch) and wait for the platform's answers. The simulator, the tests and the benchmark use it."""

from __future__ import annotations

import asyncio

from cityloop.fleet import jt808 as j


class TerminalError(RuntimeError):
    pass


class Terminal:
    """One connection speaking as the terminal with this phone number (2013 header, or 2019 with version)."""

    def __init__(self, phone: str, version: int | None = None, timeout: float = 10.0) -> None:
        self.phone, self.version, self.timeout = phone, version, timeout
        self.serial = 0
        self.buffer = j.FrameBuffer()
        self.frames: list[j.Frame] = []
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def connect(self, host: str, port: int) -> Terminal:
        self.reader, self.writer = await asyncio.wait_for(asyncio.open_connection(host, port), self.timeout)
        return self

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except OSError:
                pass

    def frame(self, msg_id: int, body: bytes = b"") -> bytes:
        """The next frame this terminal would send."""
        self.serial = (self.serial + 1) & 0xFFFF
        return j.encode_frame(msg_id, self.phone, self.serial, body, version=self.version)

    async def send_raw(self, data: bytes) -> None:
        if self.writer is None:
            raise TerminalError("not connected")
        self.writer.write(data)
        await self.writer.drain()

    async def answer(self) -> j.Frame:
        """The next frame from the platform."""
        while not self.frames:
            if self.reader is None:
                raise TerminalError("not connected")
            data = await asyncio.wait_for(self.reader.read(65536), self.timeout)
            if not data:
                raise TerminalError("connection closed by the platform")
            self.frames += [j.decode_frame(raw) for raw in self.buffer.feed(data)]
        return self.frames.pop(0)

    async def request(self, msg_id: int, body: bytes = b"") -> j.Frame:
        """Send one message and return the platform's answer."""
        await self.send_raw(self.frame(msg_id, body))
        return await self.answer()

    async def register(self, plate: str = "", terminal_id: str = "T0000001") -> tuple[int, str]:
        """0x0100 → (result, auth code)."""
        reg = j.Registration(34, 1122, "CLOOP", "SIM-808", terminal_id, 2, plate)
        reply = await self.request(j.REGISTER, j.encode_register(reg, self.version is not None))
        if reply.header.msg_id != j.REGISTER_RESPONSE:
            raise TerminalError(f"expected 0x8100, got {reply.header.msg_id:#06x}")
        _, result, code = j.decode_register_response(reply.body)
        return result, code

    async def authenticate(self, code: str) -> int:
        """0x0102 → the 0x8001 result."""
        reply = await self.request(j.AUTHENTICATE, j.encode_auth(code, self.version is not None, "860000000000000"))
        return j.decode_general_response(reply.body)[2]

    async def login(self, plate: str = "") -> None:
        """Register and authenticate, or raise."""
        result, code = await self.register(plate)
        if result != j.OK or await self.authenticate(code) != j.OK:
            raise TerminalError(f"terminal {self.phone} was refused (register result {result})")

    async def heartbeat(self) -> int:
        return j.decode_general_response((await self.request(j.HEARTBEAT)).body)[2]

    async def report(self, loc: j.Location) -> int:
        """0x0200 → the 0x8001 result."""
        return j.decode_general_response((await self.request(j.LOCATION, j.encode_location(loc))).body)[2]

    async def report_batch(self, locs: list[j.Location], backfill: bool = False) -> int:
        """0x0704 → the 0x8001 result."""
        body = j.encode_batch(1 if backfill else 0, [j.encode_location(x) for x in locs])
        return j.decode_general_response((await self.request(j.BATCH, body)).body)[2]
