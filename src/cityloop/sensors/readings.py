"""Reading validation, pure: every raw reading becomes a Reading or a Reject with a reason, never silently dropped.

Transports parse their wire format into raw items {"device_id", "ts", "values"} and call check() (HTTP, MQTT), or
build readings themselves with the same value checks (HJ 212: from_packet); a Reject names one of REASONS, and the
ingestor counts it."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import datetime, tzinfo
from typing import Any, NamedTuple, NoReturn, final

from cityloop.sensors import hj212
from cityloop.sensors.domain import DEVICE_TYPES, METRICS

REASONS: dict[str, tuple[str, str]] = {
    "bad-json": ("不是有效的 JSON", "not valid JSON"),
    "bad-shape": ("结构不符合要求", "not a reading object"),
    "batch-too-large": ("批量过大", "batch too large"),
    "bad-topic": ("主题格式错误", "topic does not match cityloop/<tenant>/devices/<id>/telemetry"),
    "unknown-tenant": ("租户不存在", "unknown tenant"),
    "device-mismatch": ("设备编号与主题不一致", "device_id differs from the topic's"),
    "unknown-device": ("设备未登记", "unknown device"),
    "device-inactive": ("设备已停用", "device is not active"),
    "bad-ts": ("时间戳无效（需带时区的 ISO 8601 或 Unix 时间）", "bad timestamp (ISO 8601 with zone, or epoch)"),
    "future-ts": ("时间戳超前过多", "timestamp too far in the future"),
    "stale-ts": ("时间戳早于保留期", "timestamp older than the retention period"),
    "no-values": ("没有读数", "no values"),
    "unknown-metric": ("该类设备不支持此读数（单位不符）", "value key not valid for this device type (bad unit)"),
    "wrong-type": ("读数类型错误", "value of the wrong type"),
    "not-finite": ("读数不是有限数值（NaN/Infinity）", "value is NaN or infinite"),
    "out-of-range": ("读数超出量程", "value outside the physical range"),
    "duplicate": ("重复读数（同一设备同一时间）", "duplicate reading (same device and time)"),
    "hj212-password": ("HJ 212 访问密码错误", "wrong HJ 212 password (PW)"),
    **{f"hj212-{code}": (f"HJ 212 {zh}", f"HJ 212: {en}") for code, (zh, en) in hj212.ERRORS.items()},
}


class DeviceRef(NamedTuple):
    """What validation and rules need to know about a device."""

    id: int
    code: str
    type: str
    active: bool


@final
class Reading(NamedTuple):
    """A validated reading: device, epoch seconds, values (floats; open as 0/1), and values a station flagged
    abnormal ({metric: [flag, value]}: stored beside the reading, never evaluated)."""

    device_id: int
    code: str
    ts: float
    values: dict[str, float]
    flags: dict[str, list[Any]] | None = None


class Interval(NamedTuple):
    """An aggregate a station reported for an interval (HJ 212 minute, hour, day data): step_s seconds from ts
    (epoch s); values {metric: (avg, min, max)}, flagged ones {metric: [flag, avg, min, max]}."""

    device_id: int
    code: str
    step_s: int
    ts: float
    values: dict[str, tuple[float, ...]]
    flags: dict[str, list[Any]] | None = None


class Reject(NamedTuple):
    """A refused reading: reason (a REASONS key), the device code if known, and a detail."""

    reason: str
    device: str | None = None
    detail: str = ""


def parse_ts(raw: object) -> float | None:
    """Epoch seconds from an ISO 8601 string with a zone, or epoch seconds / milliseconds; None if invalid."""
    if type(raw) is float and 0.0 < raw <= 1e11:  # the common case: epoch seconds (NaN and ±inf fail the range)
        return raw
    if isinstance(raw, bool):
        return None
    if isinstance(raw, (int, float)):
        value = float(raw)
        if not math.isfinite(value) or value <= 0:
            return None
        return value / 1000.0 if value > 1e11 else value
    if isinstance(raw, str) and 10 <= len(raw) <= 40:
        try:
            when = datetime.fromisoformat(raw)
        except ValueError:
            return None
        return when.timestamp() if when.tzinfo is not None else None
    return None


def check(item: object, devices: Mapping[str, DeviceRef], now: float, max_future_s: float, max_age_s: float,
          topic_device: str | None = None) -> Reading | Reject:
    """Validate one raw reading {"device_id", "ts", "values"} against the registry and the clock (epoch s)."""
    if not isinstance(item, dict):
        return Reject("bad-shape", None, "reading must be an object")
    code = item.get("device_id", topic_device)
    if not isinstance(code, str) or not code:
        return Reject("bad-shape", None, "device_id must be a non-empty string")
    if topic_device is not None and code != topic_device:
        return Reject("device-mismatch", topic_device, code[:64])
    device = devices.get(code)
    if device is None:
        return Reject("unknown-device", code[:64])
    if not device.active:
        return Reject("device-inactive", code)
    return check_of(item, device, now, max_future_s, max_age_s)


def check_of(item: dict[str, Any], device: DeviceRef, now: float, max_future_s: float,
             max_age_s: float) -> Reading | Reject:
    """The rest of check() once the reading's device is known and active: its time and values."""
    code = device.code
    ts = parse_ts(item.get("ts"))
    if ts is None:
        return Reject("bad-ts", code, str(item.get("ts"))[:40])
    if ts > now + max_future_s:
        return Reject("future-ts", code, f"{ts - now:.0f} s ahead")
    if ts < now - max_age_s:
        return Reject("stale-ts", code)
    raw = item.get("values")
    if not isinstance(raw, dict) or not raw:
        return Reject("no-values", code)
    values = check_values(device, raw)
    return values if isinstance(values, Reject) else Reading(device.id, code, ts, values)


_ALLOWED: dict[str, dict[object, tuple[str, float, float]]] = {  # device type -> value key -> (kind, low, high)
    t: {key: METRICS[key][:3] for key in spec["metrics"]} for t, spec in DEVICE_TYPES.items()}


def check_values(device: DeviceRef, raw: dict[str, Any]) -> dict[str, float] | Reject:
    """The values of one reading checked against the device's type: known key, type, finite, in range."""
    allowed = _ALLOWED[device.type]
    code = device.code
    values: dict[str, float] = {}
    for key, value in raw.items():
        limits = allowed.get(key)
        if limits is None:
            return Reject("unknown-metric", code, str(key)[:40])
        kind, low, high = limits
        if kind == "bool":
            if not isinstance(value, bool) and value not in (0, 1):
                return Reject("wrong-type", code, key)
            values[key] = 1.0 if value else 0.0
            continue
        if type(value) is float and low <= value <= high:  # the common case (NaN and ±inf fail the range)
            values[key] = value
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return Reject("wrong-type", code, key)
        value = float(value)
        if not math.isfinite(value):
            return Reject("not-finite", code, key)
        if not low <= value <= high:
            return Reject("out-of-range", code, f"{key}={value:g}")
        values[key] = value
    return values


def from_packet(packet: hj212.Packet, device: DeviceRef | None, now: float, tz: tzinfo, max_future_s: float,
                max_age_s: float, epochs: dict[datetime, float] | None = None) -> Reading | Interval | Reject:
    """An HJ 212 data packet of a station -> a Reading (2011 real time) or an Interval (2051 minute, 2061 hour,
    2031 day; ts = the interval's local start). Factors map to value keys (hj212.FACTORS); factors the device's
    type does not measure are ignored; values flagged other than N go to `flags`, unchecked. `epochs` caches the
    epoch of each local DataTime (in tz) across the packets of a batch: stations report the same seconds."""
    if device is None:
        return Reject("unknown-device", packet.mn)
    code = device.code
    if not device.active:
        return Reject("device-inactive", code)
    step = hj212.INTERVALS[packet.cn]
    data_time = packet.data_time
    assert data_time is not None  # decode() refuses a data packet without DataTime
    ts = epochs.get(data_time) if epochs is not None and not step else None
    if ts is None:
        local = data_time.replace(tzinfo=tz)
        ts = local.timestamp()
        if step:
            offset = local.utcoffset()
            assert offset is not None  # local has a zone
            ts -= (ts + offset.total_seconds()) % step
        elif epochs is not None:
            epochs[data_time] = ts
    if ts > now + max_future_s:
        return Reject("future-ts", code, f"{ts - now:.0f} s ahead")
    if ts < now - max_age_s:
        return Reject("stale-ts", code)
    allowed = DEVICE_TYPES[device.type]["metrics"]
    factors = hj212.FACTORS
    flags: dict[str, list[Any]] = {}
    if not step:  # real time: one number per metric
        values: dict[str, float] = {}
        for code, v, flag, _ in hj212.factor_items(packet):
            key = factors.get(code)
            if key is None or key not in allowed:
                continue
            first = v.get("Rtd", v.get("Avg"))
            if first is None:
                continue
            if flag is None or flag == "N":
                values[key] = first
            else:
                flags[key] = [flag, first]
        if not values and not flags:
            return Reject("no-values", code)
        got = check_values(device, values)
        if isinstance(got, Reject):
            return got
        return Reading(device.id, code, ts, got, flags or None)
    normal: dict[str, tuple[float, ...]] = {}
    for code, v, flag, _ in hj212.factor_items(packet):
        key = factors.get(code)
        if key is None or key not in allowed:
            continue
        first = v.get("Avg", v.get("Rtd"))
        if first is None:
            continue
        numbers = (first, v.get("Min", first), v.get("Max", first))
        if flag in (None, "N"):
            normal[key] = numbers
        else:
            flags[key] = [flag, *numbers]
    if not normal and not flags:
        return Reject("no-values", code)
    for i in range(3):
        checked = check_values(device, {k: n[i] for k, n in normal.items()})
        if isinstance(checked, Reject):
            return checked
    return Interval(device.id, code, step, ts, normal, flags or None)


def _no_constants(name: str) -> NoReturn:
    raise ValueError(f"{name} is not valid JSON")


_DECODER = json.JSONDecoder(parse_constant=_no_constants)


def loads(data: bytes | bytearray | str) -> Any:
    """JSON without NaN/Infinity literals (they are not JSON; a value that is NaN is refused, not stored)."""
    if isinstance(data, (bytes, bytearray)):  # as json.loads reads bytes, with one decoder made once
        return _DECODER.decode(data.decode(json.detect_encoding(data), "surrogatepass"))
    return json.loads(data, parse_constant=_no_constants)


def parse_message(topic: str, payload: bytes | bytearray, tenant: str,
                  max_batch: int) -> tuple[str | None, list[Any], Reject | None]:
    """An MQTT message -> (device code, raw items, whole-message reject). Topic
    cityloop/<tenant>/devices/<device_id>/telemetry; payload one reading {"ts", "values"}, a list of them, or
    {"readings": [...]}."""
    parts = topic.split("/")
    if len(parts) != 5 or parts[0] != "cityloop" or parts[2] != "devices" or parts[4] != "telemetry" or not parts[3]:
        return None, [], Reject("bad-topic", None, topic[:120])
    if parts[1] != tenant:
        return parts[3], [], Reject("unknown-tenant", parts[3], parts[1][:40])
    try:
        doc = loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        return parts[3], [], Reject("bad-json", parts[3], str(exc)[:80])
    if isinstance(doc, dict) and "readings" in doc:
        doc = doc["readings"]
    items = doc if isinstance(doc, list) else [doc]
    if len(items) > max_batch:
        return parts[3], [], Reject("batch-too-large", parts[3], str(len(items)))
    return parts[3], items, None
