"""JT/T 808 (2013 and 2019 editions) codec: 0x7E framing with escaping, XOR checksum, BCD, the header and
sub-package reassembly; the bodies of the messages a platform handles first come from jt808_messages and are
available here too. Pure: bytes in, values out; no I/O, no clock.

Real terminals send bad checksums, stray escapes and vendor variants; decoding reports them (Frame.checksum_ok,
Frame.bad_escapes) instead of refusing, so the gateway can answer what can be answered and count the rest."""

from __future__ import annotations

import struct
from dataclasses import dataclass

# The message bodies and the shared constants live in jt808_messages; they are part of this codec's interface
# (re-exported: `name as name`).
from cityloop.fleet.jt808_messages import (
    ALARM_ACK as ALARM_ACK, BAD_MESSAGE as BAD_MESSAGE, BEIJING as BEIJING, FAIL as FAIL, LOAD_EMPTY as LOAD_EMPTY,
    LOAD_FULL as LOAD_FULL, LOAD_HALF as LOAD_HALF, OK as OK, STATUS_ACC as STATUS_ACC, STATUS_FIXED as STATUS_FIXED,
    STATUS_SOUTH as STATUS_SOUTH, STATUS_WEST as STATUS_WEST, UNSUPPORTED as UNSUPPORTED, FrameError as FrameError,
    Location as Location, Registration as Registration, bcd_time_epoch as bcd_time_epoch, decode_auth as decode_auth,
    decode_batch as decode_batch, decode_general_response as decode_general_response,
    decode_location as decode_location, decode_register as decode_register,
    decode_register_response as decode_register_response, encode_auth as encode_auth, encode_batch as encode_batch,
    encode_general_response as encode_general_response, encode_location as encode_location,
    encode_register as encode_register, encode_register_response as encode_register_response,
    location_fix as location_fix)

FLAG, ESC = 0x7E, 0x7D
TERMINAL_RESPONSE, HEARTBEAT, LOGOUT, REGISTER, AUTHENTICATE = 0x0001, 0x0002, 0x0003, 0x0100, 0x0102
LOCATION, LOCATION_ANSWER, BATCH = 0x0200, 0x0201, 0x0704
PLATFORM_RESPONSE, REGISTER_RESPONSE = 0x8001, 0x8100
MAX_BODY = 1023  # the body-length field has 10 bits


def escape(data: bytes) -> bytes:
    """0x7D → 7D 01, 0x7E → 7D 02."""
    if data.find(b"\x7d") < 0 and data.find(b"\x7e") < 0:  # not `in`: bytes.__contains__ raises and clears an
        # exception when given bytes (it tries an int first), find does not
        return data
    return data.replace(b"\x7d", b"\x7d\x01").replace(b"\x7e", b"\x7d\x02")


def unescape(data: bytes) -> tuple[bytes, int]:
    """Undo escaping; returns the bytes and how many invalid escapes were dropped (as Traccar does)."""
    if data.find(b"\x7d") < 0:  # (see escape)
        return data, 0
    parts = data.split(b"\x7d")
    out, bad = [parts[0]], 0
    for part in parts[1:]:
        if part[:1] == b"\x01":
            out += (b"\x7d", part[1:])
        elif part[:1] == b"\x02":
            out += (b"\x7e", part[1:])
        else:
            bad += 1
            out.append(part[1:])
    return b"".join(out), bad


def checksum(data: bytes) -> int:
    """XOR of all bytes, by folding the number in halves (a few big-int operations instead of a byte loop)."""
    x, width = int.from_bytes(data, "big"), len(data)
    while width > 1:
        half = (width + 1) // 2
        x = (x & ((1 << (8 * half)) - 1)) ^ (x >> (8 * half))
        width = half
    return x & 0xFF


def plain_location(data: bytes, phone: bytes) -> bytes | None:
    """The hot path of a gateway: `data` unescaped, flags kept, when it is exactly one whole 2013 0x0200 frame from
    `phone` (BCD[6] as sent) with a right checksum, valid escapes, no sub-package and a body of at least 28 bytes,
    so the header is at [1:13], the body at [13:-2]; None: decode it with decode_frame."""
    n = len(data)
    if data[:3] != b"\x7e\x02\x00" or n > 128 or data.find(b"\x7e", 1) != n - 1:
        return None
    if data.find(b"\x7d") >= 0:  # (see escape)
        if data.count(b"\x7d") != data.count(b"\x7d\x01") + data.count(b"\x7d\x02"):
            return None  # an invalid escape, or a 0x7D checksum sent unescaped: decode_frame knows
        data = data.replace(b"\x7d\x02", b"\x7e").replace(b"\x7d\x01", b"\x7d")
        n = len(data)
    if n < 43 or data[3] & 0xE0 or data[5:11] != phone:
        return None
    # The XOR of every byte is 0 when the checksum is right (the two flags cancel out): fold the number in halves
    # (a frame of 64 bytes or fewer needs no 512-bit fold: each fold costs as much as the rest of this check).
    x = int.from_bytes(data, "little")
    if n > 64:
        x ^= x >> 512
    x ^= x >> 256
    x ^= x >> 128
    x ^= x >> 64
    x ^= x >> 32
    x ^= x >> 16
    x ^= x >> 8
    return None if x & 0xFF else data


def bcd(digits: str, size: int) -> bytes:
    """Digits as BCD[size], left-padded with zeros."""
    if len(digits) > 2 * size:
        raise ValueError(f"{digits!r} does not fit BCD[{size}]")
    return bytes.fromhex(digits.rjust(2 * size, "0"))


@dataclass(frozen=True, slots=True)
class Header:
    """The message header; `phone` keeps the BCD digits as sent (12 in 2013, 20 in 2019)."""

    msg_id: int
    phone: str
    serial: int
    version: int | None = None  # protocol version of a 2019 header; None for 2013
    encryption: int = 0
    total: int | None = None  # sub-package count and number (from 1)
    index: int | None = None
    reserved: int = 0  # the reserved attribute bits in place: 0x8000, and 0x4000 on a 2013 header that sets it
    body_length: int = 0  # as declared in the attributes

    @property
    def terminal_key(self) -> str:
        """The phone number without leading zeros: how devices are looked up."""
        return self.phone.lstrip("0") or "0"


@dataclass(slots=True)
class Frame:
    header: Header
    body: bytes
    checksum_ok: bool
    length_ok: bool
    bad_escapes: int = 0


def _read_header(data: bytes, msg_id: int, attrs: int, is_2019: bool) -> tuple[Header, int]:
    if is_2019:
        if len(data) < 17:
            raise FrameError("short-header")
        version, phone, serial, offset = data[4], data[5:15].hex(), int.from_bytes(data[15:17], "big"), 17
        reserved = attrs & 0x8000
    else:
        version, phone, serial, offset = None, data[4:10].hex(), int.from_bytes(data[10:12], "big"), 12
        reserved = attrs & 0xC000
    header = Header(msg_id, phone, serial, version, (attrs >> 10) & 7, None, None, reserved, attrs & 0x3FF)
    if attrs & 0x2000:
        if len(data) < offset + 4:
            raise FrameError("short-header", header)
        total, index = struct.unpack_from(">HH", data, offset)
        offset += 4
        header = Header(msg_id, phone, serial, version, header.encryption, total, index, reserved, header.body_length)
    return header, offset


def parse_header(data: bytes, length: int | None = None) -> tuple[Header, int]:
    """Read the header at the start of unescaped data; returns it and the body offset.

    Attribute bit 14 marks a 2019 header, but some 2013 firmware sets it too: when the unescaped frame's `length`
    (header + body + checksum) is given and fits the 2013 layout but not the 2019 one, the 2013 reading wins."""
    if len(data) < 12:
        raise FrameError("short-header")
    msg_id, attrs = struct.unpack_from(">HH", data)
    if not attrs & 0x4000:
        return _read_header(data, msg_id, attrs, False)
    sub = 4 if attrs & 0x2000 else 0
    expect = (attrs & 0x3FF) + sub + 1  # body, sub-package fields and checksum after the fixed header
    if length is not None and length != 17 + expect and length == 12 + expect:
        return _read_header(data, msg_id, attrs, False)
    return _read_header(data, msg_id, attrs, True)


def decode_frame(raw: bytes) -> Frame:
    """Decode the escaped bytes between two 0x7E flags.

    A 0x7D right before the closing flag cannot start an escape: it is the checksum, sent unescaped (as some
    terminals do; other gateways accept it too)."""
    if raw[-1:] == b"\x7d":
        data, bad = unescape(raw[:-1])
        data += b"\x7d"
    else:
        data, bad = unescape(raw)
    header, offset = parse_header(data, len(data))
    if len(data) < offset + 1:
        raise FrameError("no-checksum", header)
    body = data[offset:-1]
    return Frame(header, body, checksum(data[:-1]) == data[-1], len(body) == header.body_length, bad)


def encode_frame(msg_id: int, phone: str, serial: int, body: bytes = b"", *, version: int | None = None,
                 encryption: int = 0, total: int | None = None, index: int | None = None, reserved: int = 0) -> bytes:
    """A complete frame, flags included; the phone is BCD[6] (2013) or BCD[10] (2019, when version is given)."""
    if len(body) > MAX_BODY:
        raise ValueError("body longer than 1023 bytes: split it into sub-packages")
    attrs = len(body) | (encryption & 7) << 10 | (0x2000 if total else 0) | (0x4000 if version is not None else 0)
    attrs |= reserved & (0x8000 if version is not None else 0xC000)
    head = struct.pack(">HH", msg_id, attrs)
    head += (bytes([version]) + bcd(phone, 10)) if version is not None else bcd(phone, 6)
    head += struct.pack(">H", serial & 0xFFFF) + (struct.pack(">HH", total, index) if total else b"")
    data = head + body
    return b"\x7e" + escape(data + bytes([checksum(data)])) + b"\x7e"


def encode(header: Header, body: bytes) -> bytes:
    """Encode a frame from a header (the attributes are recomputed from the body)."""
    return encode_frame(header.msg_id, header.phone, header.serial, body, version=header.version,
                        encryption=header.encryption, total=header.total, index=header.index,
                        reserved=header.reserved)


class FrameBuffer:
    """Cuts a TCP byte stream into frames: several may come in one read, one may span several reads.

    Bytes outside flags are dropped; a partial frame longer than max_frame is dropped (counted in `overflows`)."""

    def __init__(self, max_frame: int = 4096) -> None:
        self.max_frame, self.overflows = max_frame, 0
        self._partial = b""  # starts with a flag when inside a frame
        self.at_rest = True  # no partial frame pending: the next read can be taken whole (see plain_location)

    def took_whole(self) -> None:
        """A whole frame was read without feed: leave the buffer as feed would."""
        self._partial, self.at_rest = b"\x7e", True

    def feed(self, data: bytes) -> list[bytes]:
        """The escaped contents of every frame completed by `data`."""
        frames = self._feed(data)
        self.at_rest = len(self._partial) <= 1
        return frames

    def _feed(self, data: bytes) -> list[bytes]:
        buf = self._partial + data
        if buf.find(b"\x7e") < 0:  # (see escape)
            self._partial = buf if buf[:1] == b"\x7e" else b""
            return []
        parts = buf.split(b"\x7e")
        frames = [p for p in parts[1:-1] if p]
        tail = parts[-1]
        if len(tail) > self.max_frame:
            self.overflows += 1
            self._partial = b""
        else:
            self._partial = b"\x7e" + tail
        return frames


# --- sub-packages --------------------------------------------------------------------------------------------------

def split_body(body: bytes, size: int = MAX_BODY) -> list[bytes]:
    """Cut a long body into sub-package bodies (send them with serials first, first+1, …, index 1…n)."""
    return [body[i:i + size] for i in range(0, len(body), size)] or [b""]


class Reassembler:
    """Joins the sub-packages of one connection's messages, keyed by message id and package count.

    The standard lets a terminal send other messages between the packages of a long one (so their serials need
    not be consecutive); each package is collected by its number. Bounded: at most max_pending partial messages of
    at most max_packages packages, each forgotten max_age seconds after its first package."""

    def __init__(self, max_pending: int = 8, max_age: float = 120.0, max_packages: int = 256) -> None:
        self.max_pending, self.max_age, self.max_packages = max_pending, max_age, max_packages
        self.refused = 0  # packages of messages longer than max_packages
        self._pending: dict[tuple[int, int], tuple[float, dict[int, bytes]]] = {}

    def add(self, header: Header, body: bytes, now: float) -> bytes | None:
        """Add one package; the whole body once every package has come, else None."""
        total, index = header.total or 0, header.index or 0
        if not 1 <= index <= total:
            return None
        if total > self.max_packages:
            self.refused += 1
            return None
        key = (header.msg_id, total)
        self._pending = {k: v for k, v in self._pending.items() if now - v[0] <= self.max_age}
        started, parts = self._pending.get(key, (now, {}))
        if index == 1 and parts.get(1, body) != body:  # a different first package: a new message began
            started, parts = now, {}
        if key not in self._pending and len(self._pending) >= self.max_pending:
            self._pending.pop(min(self._pending, key=lambda k: self._pending[k][0]))
        self._pending[key] = (started, parts)
        parts[index] = body
        if len(parts) < total:
            return None
        del self._pending[key]
        return b"".join(parts[i] for i in range(1, total + 1))
