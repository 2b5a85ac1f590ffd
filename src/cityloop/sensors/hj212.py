"""HJ 212-2017 codec (and HJ/T 212-2005 frames), pure: frames, data segments, CP items, the CRC of appendix A,
the platform's answers, and a splitter for a TCP byte stream. No I/O, no clock.

Frame: "##" + 4-digit decimal length of the data segment + data segment + 4 hex CRC + "\\r\\n"; data segment
"QN=…;ST=22;CN=2011;PW=…;MN=…;Flag=5;CP=&&DataTime=…;a34002-Rtd=80.1,a34002-Flag=N;…&&". Every malformed frame
raises FrameError with one of ERRORS; nothing else is raised for any input."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

MAX_SEGMENT = 9999  # the length field has four decimal digits
MAX_FRAME = MAX_SEGMENT + 12

ERRORS: dict[str, tuple[str, str]] = {
    "bad-header": ("帧头不是 ##", "the frame does not start with ##"),
    "bad-tail": ("帧不完整（缺少 \\r\\n 结尾）", "the frame is cut short (no \\r\\n end)"),
    "too-long": ("帧过长", "the frame is longer than the standard allows"),
    "bad-length": ("数据段长度与长度字段不符", "the data segment's length differs from its length field"),
    "bad-crc": ("CRC 校验错误", "CRC mismatch"),
    "bad-segment": ("数据段字段格式错误", "malformed data segment field"),
    "missing-field": ("缺少必需字段（ST、CN、MN）", "a required field (ST, CN, MN) is missing"),
    "bad-flag": ("Flag 标志位无效", "bad Flag"),
    "unknown-cn": ("未知的命令编码 CN", "unknown command code (CN)"),
    "bad-cp": ("CP 指令参数缺少 && 或格式错误", "CP is not enclosed in && or malformed"),
    "bad-value": ("监测值不是数字", "a value is not a finite number"),
    "bad-time": ("数据时间 DataTime 无效或缺失", "DataTime missing or invalid"),
}

# 系统编码 ST (the ones environmental monitors of a city use; any code of 2 to 5 letters or digits is accepted).
SYSTEMS = {"21": ("地表水质量监测", "surface water quality"), "22": ("空气质量监测", "air quality"),
           "23": ("声环境质量监测", "noise"), "31": ("大气环境污染源", "air pollution source"),
           "32": ("地表水体环境污染源", "water pollution source"), "91": ("系统交互", "system interaction")}
# 命令编码 CN a station sends to the platform. Data commands carry the seconds one value covers (0: real time).
# Other uploads of the standard's command table (UPLOADS) are answered like data (9014) and kept as station events:
# refusing them (9011 QnRtn=8) makes a station send them again and again.
UPLOADS = {"2021": ("设备运行状态", "device running status"),
           "2041": ("设备运行时间日历史数据", "device running time of a day"),
           "2081": ("数采仪开机时间", "data-logger boot time"),
           "3020": ("现场机信息", "on-site device information")}
COMMANDS = {"2011": ("实时数据", "real-time data"), "2051": ("分钟数据", "minute data"), "2061": ("小时数据", "hour data"),
            "2031": ("日数据", "day data"), **UPLOADS, "9011": ("请求应答", "request answer"),
            "9012": ("执行结果", "execution result"), "9013": ("通知应答", "notification answer"),
            "9014": ("数据应答", "data answer")}
INTERVALS = {"2011": 0, "2051": 60, "2061": 3600, "2031": 86400}
# 数据标记 of each value; only N is a valid measurement.
DATA_FLAGS = {"N": ("正常", "normal"), "F": ("停运", "stopped"), "M": ("维护", "maintenance"),
              "S": ("手工输入", "manual input"), "D": ("故障", "fault"), "C": ("校准", "calibration"),
              "T": ("超测上限", "over the measuring range"), "B": ("通讯异常", "communication failure")}
# 请求应答 QnRtn codes of the 9011 answer.
QN_RTN = {1: ("准备执行请求", "ready"), 2: ("请求被拒绝", "rejected"), 3: ("PW 错误", "wrong password"),
          4: ("MN 错误", "wrong MN"), 5: ("ST 错误", "wrong ST"), 6: ("Flag 错误", "wrong Flag"),
          7: ("QN 错误", "wrong QN"), 8: ("CN 错误", "wrong CN"), 9: ("CRC 校验错误", "CRC error"),
          100: ("未知错误", "unknown error")}
# Factor codes -> our value keys (HJ 212-2017 appendix B; LA is A-weighted sound level, B03 its HJ/T 212-2005 code).
FACTORS = {"a34002": "pm10", "a34004": "pm25", "a34001": "tsp", "LA": "leq_db", "Leq": "leq_db", "B03": "leq_db",
           "a01001": "temp_c", "a01002": "humidity_pct", "a01007": "wind_ms", "a01008": "wind_dir_deg"}
CODES = {"pm10": "a34002", "pm25": "a34004", "tsp": "a34001", "leq_db": "LA", "temp_c": "a01001",
         "humidity_pct": "a01002", "wind_ms": "a01007", "wind_dir_deg": "a01008"}
NUMERIC = frozenset({"Rtd", "Avg", "Min", "Max", "Cou", "ZsRtd", "ZsAvg", "ZsMin", "ZsMax"})
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d{1,3})?")
_HEX = re.compile(rb"[0-9A-Fa-f]{4}")
_LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_ERROR_RTN = {"bad-crc": 9, "unknown-cn": 8, "bad-flag": 6}


class FrameError(ValueError):
    """A frame that cannot be used: code is one of ERRORS."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code, self.detail = code, detail


@dataclass(slots=True)
class Factor:
    """One monitored factor of a CP: numbers by suffix (Rtd, Avg, Min, Max …), its data flag, other items."""

    code: str
    values: dict[str, float] = field(default_factory=dict)
    flag: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Packet:
    """A decoded data segment. data_time is the station's local time (no zone)."""

    st: str
    cn: str
    mn: str
    qn: str | None = None
    pw: str | None = None
    flag: int = 0
    pnum: int | None = None
    pno: int | None = None
    data_time: datetime | None = None
    factors: dict[str, Factor] = field(default_factory=dict)
    fields: dict[str, str] = field(default_factory=dict)  # other CP items: QnRtn, ExeRtn, SystemTime …
    # parse(lazy=True) only: the factors as [values, flag, extra or None] by code, no Factor objects (factor_items)
    items: dict[str, list[Any]] = field(default_factory=dict, repr=False, compare=False)

    @property
    def answer_required(self) -> bool:
        """Flag bit A: the station waits for the platform's answer."""
        return bool(self.flag & 1)

    @property
    def version(self) -> int:
        """Flag bits V5…V0: 0 is HJ/T 212-2005, 1 is HJ 212-2017."""
        return self.flag >> 2


def _crc_step(value: int) -> int:
    for _ in range(8):
        value = (value >> 1) ^ 0xA001 if value & 1 else value >> 1
    return value


# Appendix A shifts the register right by 8 before XORing each byte in, so the register's next value depends on one
# byte only: a 256-entry table is the whole algorithm.
_CRC_TABLE = tuple(_crc_step(i) for i in range(256))
# That byte is a linear map of the message over GF(2): index_next = H(index ^ byte) with H = table >> 8, and H^8 is
# the identity. So a byte's share of the final index depends only on its distance from the end modulo 8: XOR the
# message into 8 bytes (64-bit words aligned at the end, in C), map each by its power of H, XOR them and the
# start's share, and look the result up once — a few big-int operations instead of a Python step per byte.
_H = tuple(t >> 8 for t in _CRC_TABLE)


def _h_power(r: int, byte: int) -> int:
    for _ in range(r):
        byte = _H[byte]
    return byte


_SHARE = tuple(tuple(_h_power(r, b) for b in range(256)) for r in range(8))  # [distance from the end % 8][byte]
_START = tuple(_h_power((n - 1) % 8, 0xFF) for n in range(8, 16))  # the 0xFFFF start's share, by length % 8


def crc16(data: bytes) -> int:
    """The CRC of HJ 212 appendix A (init 0xFFFF; per byte: the register shifted right by 8, XOR the byte, then 8
    rounds of shift right with polynomial 0xA001) — not CRC-16/MODBUS, which keeps the register's low byte."""
    n = len(data)
    if not n:
        return 0xFFFF
    x = int.from_bytes(data, "big")
    words = (n + 7) >> 3
    while words > 1:
        half = words >> 1
        bits = half << 6
        x = (x >> bits) ^ (x & ((1 << bits) - 1))
        words -= half
    s0, s1, s2, s3, s4, s5, s6, s7 = _SHARE
    return _CRC_TABLE[_START[n & 7] ^ s0[x & 255] ^ s1[x >> 8 & 255] ^ s2[x >> 16 & 255] ^ s3[x >> 24 & 255]
                      ^ s4[x >> 32 & 255] ^ s5[x >> 40 & 255] ^ s6[x >> 48 & 255] ^ s7[x >> 56]]


def frame(segment: str) -> bytes:
    """The frame of a data segment (latin-1: ASCII in practice; the length counts bytes)."""
    body = segment.encode("latin-1")
    if len(body) > MAX_SEGMENT:
        raise ValueError(f"data segment of {len(body)} bytes is longer than {MAX_SEGMENT}")
    return b"##%04d%s%04X\r\n" % (len(body), body, crc16(body))


def unframe(data: bytes) -> str:
    """The data segment of one frame, after checking header, length, CRC and end."""
    if not data.startswith(b"##"):
        raise FrameError("bad-header")
    if len(data) > MAX_FRAME:
        raise FrameError("too-long", f"{len(data)} bytes")
    if not data.endswith(b"\r\n") or len(data) < 12:
        raise FrameError("bad-tail")
    digits = data[2:6]
    if not (digits.isdigit() and digits.isascii()) or int(digits) != len(data) - 12:
        raise FrameError("bad-length", f"length field {digits!r}, data segment {len(data) - 12} bytes")
    body, given = data[6:-6], data[-6:-2]
    if not _HEX.fullmatch(given) or int(given, 16) != crc16(body):
        raise FrameError("bad-crc", f"got {given.decode('latin-1')}, computed {crc16(body):04X}")
    return body.decode("latin-1")


def _number(text: str, key: str) -> float:
    text = text.strip()
    # The common "80.1" needs no pattern: ASCII digits with at most one point, short enough to be finite.
    if len(text) < 300 and text.isascii() and text.replace(".", "", 1).isdigit():
        return float(text)
    if not _NUMBER.fullmatch(text):
        raise FrameError("bad-value", f"{key}={text[:20]}")
    value = float(text)
    if not math.isfinite(value):
        raise FrameError("bad-value", f"{key}={text[:20]}")
    return value


_TIMES: dict[str, datetime] = {}  # DataTime text -> its datetime (a city's stations report the same seconds)
_MAX_KEYS = 4096  # bound of each cache of what came from the network


def _time(text: str) -> datetime:
    known = _TIMES.get(text)
    if known is not None:
        return known
    value = text.strip()
    if len(value) not in (14, 17) or not (value.isdigit() and value.isascii()):
        raise FrameError("bad-time", value[:20])
    try:
        known = datetime(int(value[:4]), int(value[4:6]), int(value[6:8]), int(value[8:10]), int(value[10:12]),
                         int(value[12:14]))
    except ValueError as exc:
        raise FrameError("bad-time", value[:20]) from exc
    if len(_TIMES) >= _MAX_KEYS:
        _TIMES.clear()
    _TIMES[text] = known
    return known


def _header(head: str) -> dict[str, str]:
    out = {}
    for part in head.split(";"):
        if not part:
            continue
        key, sep, value = part.partition("=")
        if not sep:
            raise FrameError("bad-segment", part[:30])
        out[key.strip()] = value.strip()
    return out


# Factor item keys seen before ("a34002-Rtd" -> code, suffix, kind: 0 number, 1 flag, 2 other), so a frame's items
# skip re-splitting and re-checking their keys; bounded, as keys come from the network.
_KEYS: dict[str, tuple[str, str, int]] = {}


def _cp(body: str, packet: Packet, lazy: bool) -> None:
    items, fields, keys = packet.items, packet.fields, _KEYS
    for part in body.replace(",", ";").split(";"):
        key, sep, value = part.partition("=")
        known = keys.get(key) if sep else None
        if known is None:
            if not sep:
                if part.strip():
                    raise FrameError("bad-cp", part.strip()[:30])
                continue
            stripped = key.strip()
            if not stripped:
                raise FrameError("bad-cp", part.strip()[:30])
            code, dash, suffix = stripped.partition("-")
            if not dash:
                if stripped == "DataTime":
                    packet.data_time = _time(value)
                else:
                    fields[stripped] = value.strip()
                continue
            if not code or not suffix:
                raise FrameError("bad-cp", stripped[:30])
            known = (code, suffix, 0 if suffix in NUMERIC else 1 if suffix == "Flag" else 2)
            if len(keys) < _MAX_KEYS:
                keys[key] = known
            key = stripped
        code, suffix, kind = known
        entry = items.get(code)
        if entry is None:  # a list, not a Factor: an object per factor of every frame costs ~10 % of the ingest
            entry = items[code] = [{}, None, None]
        if kind == 0:
            # Inlined fast path of _number (it runs for most items of every frame).
            if len(value) < 300 and value.isascii() and value.replace(".", "", 1).isdigit():
                entry[0][suffix] = float(value)
            else:
                entry[0][suffix] = _number(value, key.strip())
        elif kind == 1:
            if value in _LETTERS:
                entry[1] = value
                continue
            value = value.strip()
            if len(value) != 1 or not value.isalpha() or not value.isascii():
                raise FrameError("bad-value", f"{key.strip()}={value[:20]}")
            entry[1] = value
        else:
            if entry[2] is None:
                entry[2] = {}
            entry[2][suffix] = value.strip()
    if not lazy:
        packet.factors = {code: Factor(code, v, flag, extra or {}) for code, (v, flag, extra) in items.items()}
        packet.items = {}


def factor_items(packet: Packet) -> Iterator[tuple[str, dict[str, float], str | None, dict[str, str] | None]]:
    """A packet's factors as (code, values, flag, other items or None), however it was parsed."""
    if packet.items:
        for code, (values, flag, extra) in packet.items.items():
            yield code, values, flag, extra
    else:
        for f in packet.factors.values():
            yield f.code, f.values, f.flag, f.extra


# Header tails after "QN=…;" already checked, and the fields they give: a station's header changes only in its QN.
_HEADS: dict[str, tuple[str, str, str, str | None, int, int | None, int | None]] = {}


def _head(text: str) -> Packet:
    # A known tail after a valid QN is the header checked before; anything else is read and checked in full.
    if text.startswith("QN="):
        end = text.find(";")
        known = _HEADS.get(text[end + 1:]) if end > 0 else None
        number = text[3:end]
        if known is not None and number.isdigit() and number.isascii() and len(number) <= 20:
            return Packet(known[0], known[1], known[2], number, known[3], known[4], known[5], known[6])
    head = _header(text)
    for name in ("ST", "CN", "MN"):
        if not head.get(name):
            raise FrameError("missing-field", name)
    st, cn, mn = head["ST"], head["CN"], head["MN"]
    if not 2 <= len(st) <= 5 or not (st.isalnum() and st.isascii()):  # C5 in the 2017 table; stations send 101
        raise FrameError("bad-segment", f"ST={st[:10]}")
    if len(mn) > 24:
        raise FrameError("bad-segment", "MN longer than 24 characters")
    qn, pw, flag_text = head.get("QN"), head.get("PW"), head.get("Flag", "0")
    if qn is not None and (not qn.isdigit() or not qn.isascii() or len(qn) > 20):
        raise FrameError("bad-segment", f"QN={qn[:24]}")
    if pw is not None and len(pw) > 32:
        raise FrameError("bad-segment", "PW longer than 32 characters")
    if not (flag_text.isdigit() and flag_text.isascii() and len(flag_text) <= 3 and int(flag_text) <= 255):
        raise FrameError("bad-flag", flag_text[:10])
    if cn not in COMMANDS:
        raise FrameError("unknown-cn", cn[:10])
    packet = Packet(st, cn, mn, qn, pw, int(flag_text))
    for name in ("PNUM", "PNO"):
        if name in head:
            if not (head[name].isdigit() and head[name].isascii() and len(head[name]) <= 4):
                raise FrameError("bad-segment", f"{name}={head[name][:10]}")
            setattr(packet, name.lower(), int(head[name]))
    end = text.find(";")
    if end > 0 and text.startswith("QN=") and packet.qn == text[3:end] and "QN" not in _header(text[end + 1:]):
        if len(_HEADS) >= _MAX_KEYS:
            _HEADS.clear()
        _HEADS[text[end + 1:]] = (st, cn, mn, pw, packet.flag, packet.pnum, packet.pno)
    return packet


def _split(segment: str) -> tuple[str, str]:
    at = segment.find("CP=")
    if at < 0:
        raise FrameError("bad-cp", "no CP field")
    cp = segment[at + 3:]
    if len(cp) < 4 or not cp.startswith("&&") or not cp.endswith("&&") or "&&" in cp[2:-2]:
        raise FrameError("bad-cp", "CP must be enclosed in && … &&")
    return segment[:at], cp[2:-2]


def parse(segment: str, lazy: bool = False) -> Packet:
    """A data segment -> Packet; FrameError if malformed. `lazy`: its factors in `items` only (factor_items)."""
    head, cp = _split(segment)
    packet = _head(head)
    _cp(cp, packet, lazy)
    if packet.cn in INTERVALS and packet.data_time is None:
        raise FrameError("bad-time", "DataTime missing")
    return packet


def decode(data: bytes) -> Packet:
    """One frame -> Packet; FrameError if anything is wrong."""
    return parse(unframe(data))


def decode_head(data: bytes) -> Packet:
    """One frame's header only — CRC, fields and the CP's && checked, its items (factors, DataTime) not read: what a
    listener needs to check the station and answer, when its ingest process parses the whole frame later."""
    return _head(_split(unframe(data))[0])


def peek(data: bytes) -> dict[str, str]:
    """Best-effort header fields (QN, ST, CN, PW, MN, Flag) of a frame that failed, to count and answer it."""
    text = data[6:].decode("latin-1")
    at = text.find("CP=")
    out = {}
    for part in (text[:at] if at >= 0 else text[:200]).split(";"):
        key, sep, value = part.partition("=")
        if sep and key.strip() in ("QN", "ST", "CN", "PW", "MN", "Flag"):
            out[key.strip()] = value.strip()[:32]
    return out


def _num(value: float) -> str:
    return str(int(value)) if value == int(value) and abs(value) < 1e15 else repr(float(value))


def segment(packet: Packet) -> str:
    """The data segment of a packet (factors in their order, suffixes Rtd/Avg/Min/Max… then Flag)."""
    parts = [f"QN={packet.qn}"] if packet.qn is not None else []
    parts += [f"ST={packet.st}", f"CN={packet.cn}"]
    if packet.pw is not None:
        parts.append(f"PW={packet.pw}")
    parts += [f"MN={packet.mn}", f"Flag={packet.flag}"]
    if packet.pnum is not None:
        parts += [f"PNUM={packet.pnum}", f"PNO={packet.pno or 1}"]
    items = [f"DataTime={packet.data_time:%Y%m%d%H%M%S}"] if packet.data_time is not None else []
    items += [f"{k}={v}" for k, v in packet.fields.items()]
    for f in packet.factors.values():
        group = [f"{f.code}-{suffix}={_num(v)}" for suffix, v in f.values.items()]
        group += [f"{f.code}-{suffix}={v}" for suffix, v in f.extra.items()]
        if f.flag is not None:
            group.append(f"{f.code}-Flag={f.flag}")
        items.append(",".join(group))
    return ";".join(parts) + ";CP=&&" + ";".join(items) + "&&"


def encode(packet: Packet) -> bytes:
    """A packet as a frame."""
    return frame(segment(packet))


def data_answer(packet: Packet) -> bytes:
    """数据应答 9014 to a station's data upload (HJ/T 212-2005 puts QN and CN in CP)."""
    pw = packet.pw or ""
    if packet.version == 0:
        return frame(f"ST=91;CN=9014;PW={pw};MN={packet.mn};Flag=0;CP=&&QN={packet.qn or ''};CN={packet.cn}&&")
    qn = f"QN={packet.qn};" if packet.qn else ""
    return frame(f"{qn}ST=91;CN=9014;PW={pw};MN={packet.mn};Flag={packet.version << 2};CP=&&&&")


def request_answer(fields: dict[str, str], rtn: int) -> bytes:
    """请求应答 9011 with QnRtn (3 wrong password, 4 unknown MN, 9 CRC error …) to a request's header fields."""
    qn, pw, mn = fields.get("QN", ""), fields.get("PW", ""), fields.get("MN", "")
    flag = fields.get("Flag", "0")
    version = int(flag) >> 2 if flag.isdigit() and flag.isascii() and len(flag) <= 3 else 1
    if version == 0:
        return frame(f"ST=91;CN=9011;PW={pw};MN={mn};Flag=0;CP=&&QN={qn};QnRtn={rtn}&&")
    head = f"QN={qn};" if qn else ""
    return frame(f"{head}ST=91;CN=9011;PW={pw};MN={mn};Flag={version << 2};CP=&&QnRtn={rtn}&&")


def wants_answer(fields: dict[str, str]) -> bool:
    """True if these (peeked) header fields ask for an answer (Flag bit A)."""
    flag = fields.get("Flag", "")
    return flag.isdigit() and flag.isascii() and len(flag) <= 3 and bool(int(flag) & 1)


def error_rtn(code: str) -> int:
    """The QnRtn that answers a frame refused for this error."""
    return _ERROR_RTN.get(code, 100)


def event_values(packet: Packet) -> dict[str, str | float]:
    """The CP items of an upload kept as a station event (DataTime apart): fields, then code-suffix keys."""
    out: dict[str, str | float] = dict(packet.fields)
    for code, values, flag, extra in factor_items(packet):
        out.update({f"{code}-{k}": v for k, v in values.items()})
        out.update({f"{code}-{k}": v for k, v in (extra or {}).items()})
        if flag is not None:
            out[f"{code}-Flag"] = flag
    return out


def header_fields(packet: Packet) -> dict[str, str]:
    """A decoded packet's header as peek() would give it (to answer it with request_answer)."""
    out = {"ST": packet.st, "CN": packet.cn, "MN": packet.mn, "Flag": str(packet.flag)}
    if packet.qn is not None:
        out["QN"] = packet.qn
    if packet.pw is not None:
        out["PW"] = packet.pw
    return out


class FrameReader:
    """Splits a TCP byte stream into frames: several per read, or one across reads. Bytes outside frames are
    skipped (counted in `junk`); a frame cut short by the next "##" or too long to end is an error item."""

    def __init__(self) -> None:
        self.buf = bytearray()
        self.junk = 0

    def feed(self, data: bytes) -> list[bytes | FrameError]:
        """Add received bytes; returns the complete frames (and errors) in order."""
        out: list[bytes | FrameError] = []
        buf = self.buf
        if buf:  # a frame begun in an earlier read
            buf += data
            data = bytes(buf)
            buf.clear()
        elif type(data) is not bytes:
            data = bytes(data)
        at, size = 0, len(data)  # walk with an index: frames are sliced out once, the rest kept once
        while at < size:
            start = data.find(b"##", at)
            if start < 0:
                keep = 1 if data.endswith(b"#") else 0
                self.junk += size - at - keep
                at = size - keep
                break
            while data.startswith(b"#", start + 2):  # "###0123…": the last two are the header
                start += 1
            self.junk += start - at
            at = start
            end, after = data.find(b"\r\n", at + 2), data.find(b"##", at + 2)
            if after >= 0 and (end < 0 or after < end):
                out.append(FrameError("bad-tail", "another frame began before this one ended"))
                at = after
                continue
            if end < 0:
                if size - at > MAX_FRAME:
                    out.append(FrameError("too-long", f"no end within {MAX_FRAME} bytes"))
                    keep = 1 if data.endswith(b"#") else 0
                    self.junk += size - at - keep
                    at = size - keep
                break
            out.append(data[at:end + 2])
            at = end + 2
        if at < size:
            buf += data[at:]
        return out
