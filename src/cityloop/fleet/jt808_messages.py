"""JT/T 808 message bodies: 0x0200 location (with its additional items), 0x0704 batch, 0x0100 register,
0x0102 authenticate, and the 0x8001 / 0x8100 answers, in the 2013 and 2019 layouts (pure)."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cityloop.fleet.jt808 import Header

BEIJING = timezone(timedelta(hours=8))  # 808 times are GMT+8
OK, FAIL, BAD_MESSAGE, UNSUPPORTED, ALARM_ACK = 0, 1, 2, 3, 4  # 0x8001 results
STATUS_ACC, STATUS_FIXED, STATUS_SOUTH, STATUS_WEST = 1, 2, 4, 8
LOAD_EMPTY, LOAD_HALF, LOAD_FULL = 0, 1, 3  # status bits 8–9


class FrameError(ValueError):
    """A frame that cannot be decoded; `header` is set when the header was readable (so it can be answered)."""

    def __init__(self, reason: str, header: Header | None = None) -> None:
        super().__init__(reason)
        self.reason, self.header = reason, header




def _text(raw: bytes) -> str:
    return raw.split(b"\x00", 1)[0].decode("gbk", "replace").strip()


def _padded(value: str, size: int) -> bytes:
    raw = value.encode("gbk")[:size]
    return raw + b"\x00" * (size - len(raw))


@dataclass(slots=True)
class Location:
    """A 0x0200 body with its raw fields, so it re-encodes byte for byte; properties give the values."""

    alarm: int = 0
    status: int = STATUS_ACC | STATUS_FIXED
    lat_raw: int = 0  # degrees × 10^6, sign in status bit 2
    lon_raw: int = 0  # sign in status bit 3
    altitude: int = 0  # metres, unsigned WORD
    speed_raw: int = 0  # 1/10 km/h
    heading: int = 0
    time_bcd: str = "000000000000"  # YYMMDDhhmmss, GMT+8
    extras: list[tuple[int, bytes]] = field(default_factory=list)
    tail: bytes = b""  # trailing bytes that are not a complete additional item

    @property
    def lat(self) -> float:
        return -self.lat_raw / 1e6 if self.status & STATUS_SOUTH else self.lat_raw / 1e6

    @property
    def lon(self) -> float:
        return -self.lon_raw / 1e6 if self.status & STATUS_WEST else self.lon_raw / 1e6

    @property
    def speed_kmh(self) -> float:
        return self.speed_raw / 10

    @property
    def load(self) -> int:
        return (self.status >> 8) & 3

    @property
    def time(self) -> datetime | None:
        epoch = bcd_time_epoch(bytes.fromhex(self.time_bcd))
        return None if epoch is None else datetime.fromtimestamp(epoch, timezone.utc)

    def extra(self, item_id: int) -> bytes | None:
        """The value of an additional item (0x01 mileage, 0x31 satellites, …), or None."""
        return next((v for i, v in self.extras if i == item_id), None)

    @classmethod
    def make(cls, lon: float, lat: float, speed_kmh: float, heading: int, when: datetime, *, alarm: int = 0,
             load: int = LOAD_EMPTY, acc: bool = True, altitude: int = 0,
             extras: list[tuple[int, bytes]] | None = None) -> Location:
        """A location from values (what a simulated terminal sends)."""
        status = STATUS_FIXED | (STATUS_ACC if acc else 0) | (load & 3) << 8
        status |= (STATUS_SOUTH if lat < 0 else 0) | (STATUS_WEST if lon < 0 else 0)
        return cls(alarm, status, round(abs(lat) * 1e6), round(abs(lon) * 1e6), altitude, round(speed_kmh * 10),
                   heading % 360, when.astimezone(BEIJING).strftime("%y%m%d%H%M%S"), list(extras or []))


_LOC = struct.Struct(">IIIIHHH6s")  # altitude is a WORD: unsigned metres
_day_cache: dict[bytes, float | None] = {}
_time_cache: dict[bytes, float | None] = {}  # terminals report the same few seconds: most times are repeats


def bcd_time_epoch(raw: bytes) -> float | None:
    """UNIX seconds of a BCD[6] YYMMDDhhmmss GMT+8 time, or None if it is not a valid time."""
    try:
        return _time_cache[raw]
    except KeyError:
        pass
    if len(_time_cache) >= 16384:
        _time_cache.clear()
    t = _time_cache[raw] = _bcd_time(raw)
    return t


def _bcd_time(raw: bytes) -> float | None:
    day = _day_cache.get(raw[:3])
    if day is None and raw[:3] not in _day_cache:
        try:
            text = raw[:3].hex()
            day = datetime(2000 + int(text[:2]), int(text[2:4]), int(text[4:6]), tzinfo=BEIJING).timestamp()
        except ValueError:
            day = None
        if len(_day_cache) > 4096:
            _day_cache.clear()
        _day_cache[raw[:3]] = day
    text = raw[3:6].hex()
    if day is None or not text.isdigit():
        return None
    h, m, s = int(text[:2]), int(text[2:4]), int(text[4:6])
    return None if h > 23 or m > 59 or s > 59 else day + h * 3600 + m * 60 + s


def decode_location(body: bytes) -> Location:
    """Decode a 0x0200 body (also an item of 0x0704)."""
    if len(body) < 28:
        raise FrameError("short-location")
    alarm, status, lat, lon, alt, speed, heading, when = _LOC.unpack_from(body)
    loc = Location(alarm, status, lat, lon, alt, speed, heading, when.hex())
    offset = 28
    while offset + 2 <= len(body) and offset + 2 + body[offset + 1] <= len(body):
        size = body[offset + 1]
        loc.extras.append((body[offset], body[offset + 2:offset + 2 + size]))
        offset += 2 + size
    loc.tail = body[offset:]
    return loc


def encode_location(loc: Location) -> bytes:
    """Encode a 0x0200 body."""
    out = _LOC.pack(loc.alarm, loc.status, loc.lat_raw, loc.lon_raw, loc.altitude, loc.speed_raw, loc.heading,
                    bytes.fromhex(loc.time_bcd))
    return out + b"".join(bytes([i, len(v)]) + v for i, v in loc.extras) + loc.tail


def location_fix(body: bytes, offset: int = 0) -> tuple[int, int, float, float, float, int, float | None] | None:
    """The hot path: (alarm, status, lon, lat, speed km/h, heading, UNIX seconds) of a 0x0200 body (at `offset`
    in `body`: a whole frame need not be sliced), or None."""
    if len(body) < offset + 28:
        return None
    alarm, status, lat, lon, _, speed, heading, when = _LOC.unpack_from(body, offset)
    t = _time_cache.get(when)  # most times are repeats: skip the call
    return (alarm, status, -lon / 1e6 if status & 8 else lon / 1e6, -lat / 1e6 if status & 4 else lat / 1e6,
            speed / 10, heading, bcd_time_epoch(when) if t is None else t)


def decode_batch(body: bytes) -> tuple[int, list[bytes]]:
    """A 0x0704 body: (type: 0 normal, 1 blind-area back-fill; the 0x0200 bodies). Truncated items are dropped."""
    if len(body) < 3:
        raise FrameError("short-batch")
    count, kind = struct.unpack_from(">HB", body)
    items: list[bytes] = []
    offset = 3
    while len(items) < count and offset + 2 <= len(body):
        size = int.from_bytes(body[offset:offset + 2], "big")
        if offset + 2 + size > len(body):
            break
        items.append(body[offset + 2:offset + 2 + size])
        offset += 2 + size
    return kind, items


def encode_batch(kind: int, bodies: list[bytes]) -> bytes:
    """Encode a 0x0704 body."""
    return struct.pack(">HB", len(bodies), kind) + b"".join(struct.pack(">H", len(b)) + b for b in bodies)


# --- registration, authentication, responses ---------------------------------------------------------------------

@dataclass(slots=True)
class Registration:
    """A 0x0100 body."""

    province: int = 0
    city: int = 0
    maker: str = ""
    model: str = ""
    terminal_id: str = ""
    plate_color: int = 0
    plate: str = ""


_LAYOUTS = {"2019": (11, 30, 30), "2013": (5, 20, 7), "2011": (5, 8, 7)}


def decode_register(body: bytes, is_2019: bool) -> Registration:
    """Decode 0x0100 in the 2019, 2013 or 2011 layout (chosen by the header and the body length)."""
    edition = "2019" if is_2019 else ("2013" if len(body) >= 37 else "2011")
    maker, model, ident = _LAYOUTS[edition]
    fixed = 4 + maker + model + ident + 1
    if len(body) < fixed:
        raise FrameError("short-register")
    province, city = struct.unpack_from(">HH", body)
    parts, offset = [], 4
    for size in (maker, model, ident):
        parts.append(_text(body[offset:offset + size]))
        offset += size
    maker_name, model_name, terminal_id = parts
    return Registration(province, city, maker_name, model_name, terminal_id, body[offset], _text(body[offset + 1:]))


def encode_register(reg: Registration, is_2019: bool = False) -> bytes:
    """Encode 0x0100 (2013 or 2019 layout)."""
    maker, model, ident = _LAYOUTS["2019" if is_2019 else "2013"]
    return (struct.pack(">HH", reg.province, reg.city) + _padded(reg.maker, maker) + _padded(reg.model, model)
            + _padded(reg.terminal_id, ident) + bytes([reg.plate_color]) + reg.plate.encode("gbk"))


def decode_auth(body: bytes, is_2019: bool) -> tuple[str, str, str]:
    """0x0102: (auth code, IMEI, firmware version); the last two only in 2019."""
    if not is_2019:
        return _text(body), "", ""
    if not body or len(body) < 1 + body[0]:
        raise FrameError("short-auth")
    size = body[0]
    rest = body[1 + size:]
    return _text(body[1:1 + size]), _text(rest[:15]), _text(rest[15:35])


def encode_auth(code: str, is_2019: bool = False, imei: str = "", firmware: str = "") -> bytes:
    """Encode 0x0102."""
    raw = code.encode("gbk")
    if not is_2019:
        return raw
    return bytes([len(raw)]) + raw + _padded(imei, 15) + _padded(firmware, 20)


def encode_general_response(serial: int, msg_id: int, result: int) -> bytes:
    """A 0x8001/0x0001 body."""
    return struct.pack(">HHB", serial & 0xFFFF, msg_id, result)


def decode_general_response(body: bytes) -> tuple[int, int, int]:
    """(reply serial, reply id, result) of a 0x8001/0x0001 body."""
    if len(body) < 5:
        raise FrameError("short-response")
    return struct.unpack_from(">HHB", body)


def encode_register_response(serial: int, result: int, auth_code: str = "") -> bytes:
    """A 0x8100 body; the auth code only goes with result 0."""
    return struct.pack(">HB", serial & 0xFFFF, result) + (auth_code.encode("gbk") if result == OK else b"")


def decode_register_response(body: bytes) -> tuple[int, int, str]:
    """(reply serial, result, auth code) of a 0x8100 body."""
    if len(body) < 3:
        raise FrameError("short-response")
    serial, result = struct.unpack_from(">HB", body)
    return serial, result, _text(body[3:])
