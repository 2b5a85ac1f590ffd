"""Alarm rules of IoT monitoring (运行监测), pure: device types, levels, schedules and rule evaluation.

A rule is a function of (state, reading) -> (new state, transition or None); nothing here reads a clock or a
database. Time is epoch seconds; `local` is the reading's local (date ISO, weekday 0=Mon, minute of day).
Modelled on ThingsBoard's device-profile alarms: identity (device, rule), severities that can rise, one clear
condition, duration and K-of-M conditions, schedules — plus dated windows (exams) and a clear hysteresis."""

from __future__ import annotations

import math
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, NamedTuple

# 预警等级 blue < yellow < orange < red.
LEVELS: dict[str, tuple[str, str]] = {"blue": ("蓝色", "blue"), "yellow": ("黄色", "yellow"),
                                      "orange": ("橙色", "orange"), "red": ("红色", "red")}
STAFF = ("operator", "shift_lead", "dispatcher", "leader", "department", "inspector")  # who sees devices and alarms
ACK_ROLES = ("operator", "shift_lead", "dispatcher", "leader", "department")
RANK = {name: i + 1 for i, name in enumerate(LEVELS)}

# Value keys: (type, lowest valid, highest valid, unit).
METRICS: dict[str, tuple[str, float, float, str]] = {
    "depth_cm": ("num", 0, 1000, "cm"), "tilt_deg": ("num", 0, 180, "°"), "open": ("bool", 0, 1, ""),
    "battery_pct": ("num", 0, 100, "%"), "pm25": ("num", 0, 2000, "µg/m³"), "pm10": ("num", 0, 5000, "µg/m³"),
    "leq_db": ("num", 0, 150, "dB(A)"), "rain_mm_h": ("num", 0, 500, "mm/h"), "tsp": ("num", 0, 10000, "µg/m³"),
    "temp_c": ("num", -60, 80, "°C"), "humidity_pct": ("num", 0, 100, "%"), "wind_ms": ("num", 0, 75, "m/s"),
    "wind_dir_deg": ("num", 0, 360, "°"),
}
# What each value key is called on a page: 温度 9.5 ℃, never temp_c=9.5 (the vocabulary in web/vocab.py).
METRIC_NAMES: dict[str, tuple[str, str]] = {
    "depth_cm": ("水深", "depth"), "tilt_deg": ("倾角", "tilt"), "open": ("井盖开启", "cover open"),
    "battery_pct": ("电量", "battery"), "pm25": ("PM2.5", "PM2.5"), "pm10": ("PM10", "PM10"),
    "leq_db": ("噪声", "noise"), "rain_mm_h": ("雨强", "rain"), "tsp": ("总悬浮颗粒物", "TSP"),
    "temp_c": ("温度", "temperature"), "humidity_pct": ("湿度", "humidity"), "wind_ms": ("风速", "wind"),
    "wind_dir_deg": ("风向", "wind direction"),
}
ALARM_STATES: dict[str, tuple[str, str]] = {"active": ("未确认", "active"), "acknowledged": ("已确认", "acknowledged"),
                                            "cleared": ("已解除", "cleared")}
WEATHER = ("temp_c", "humidity_pct", "wind_ms", "wind_dir_deg")  # what site monitors measure beside dust or noise

# Device types: names and the value keys each may send (a manhole cover's depth_cm is the water in the well; a
# construction-site dust monitor often measures noise and weather too).
DEVICE_TYPES: dict[str, dict[str, Any]] = {
    "waterlogging": {"zh": "积水监测", "en": "Waterlogging depth", "metrics": ("depth_cm", "battery_pct")},
    "manhole": {"zh": "智能井盖", "en": "Smart manhole cover",
                "metrics": ("tilt_deg", "open", "depth_cm", "battery_pct")},
    "dust": {"zh": "扬尘监测", "en": "Dust monitor", "metrics": ("pm25", "pm10", "tsp", "leq_db", *WEATHER)},
    "noise": {"zh": "噪声监测", "en": "Noise monitor", "metrics": ("leq_db", *WEATHER)},
    "weather": {"zh": "雨量气象", "en": "Rain gauge / weather", "metrics": ("rain_mm_h",)},
}


@dataclass(frozen=True)
class Schedule:
    """When a rule applies: local periods of the day (minutes, may wrap midnight), dates and weekdays."""

    periods: tuple[tuple[int, int], ...] = ()
    dates: frozenset[str] = frozenset()
    weekdays: frozenset[int] = frozenset()

    def active(self, local: tuple[str, int, int]) -> bool:
        """True if the rule applies at this local (date, weekday, minute)."""
        day, weekday, minute = local
        if self.dates and day not in self.dates:
            return False
        if self.weekdays and weekday not in self.weekdays:
            return False
        if not self.periods:
            return True
        for start, end in self.periods:
            if (start <= minute < end) if start < end else (minute >= start or minute < end):
                return True
        return False


def parse_period(text: str) -> tuple[int, int]:
    """'22:00-06:00' -> (1320, 360)."""
    start, end = text.split("-")
    h1, m1 = start.split(":")
    h2, m2 = end.split(":")
    return int(h1) * 60 + int(m1), int(h2) * 60 + int(m2)


@dataclass(frozen=True)
class RuleSpec:
    """One alarm rule of a device type.

    kind: above | below (thresholds), flag (a true value), rise (units per minute over window_s), offline (no
    data for levels[0][1] seconds; evaluated by the timer). `levels` pairs level names with thresholds, in rising
    severity. The condition must hold sustain_s seconds and in k of the last m readings; it clears when the value
    is past the first threshold by `hysteresis` (for clear_s seconds). With mean_s the rolling mean is compared."""

    code: str
    zh: str
    en: str
    kind: str
    metric: str | None
    levels: tuple[tuple[str, float], ...]
    hysteresis: float = 0.0
    sustain_s: float = 0.0
    k: int = 1
    m: int = 1
    clear_s: float = 0.0
    mean_s: float = 0.0
    window_s: float = 600.0
    schedule: Schedule | None = None
    case_level: str | None = None  # a case is opened at or above this level (None: never)
    warn_level: str | None = None  # a public warning is published at or above this level (None: never)
    category: str = ""  # key into the category mapping (see catalog_map)


class State(NamedTuple):
    """What one rule remembers about one device between readings."""

    level: str | None = None  # the active alarm's level, None when quiet
    since: float | None = None  # when the condition began to hold (pending)
    mask: int = 0  # outcomes of the last m readings, newest in bit 0
    clear_since: float | None = None
    last_ts: float = 0.0
    hist: tuple[tuple[float, float], ...] = ()  # (ts, value) within the window, for means and rates


class Transition(NamedTuple):
    """What a reading did to an alarm: raise, escalate or clear, at which level, from which value."""

    kind: str
    level: str
    value: float
    ts: float


def level_of(spec: RuleSpec, value: float) -> str | None:
    """The most severe level whose threshold the value reaches, or None."""
    found = None
    if spec.kind == "below":
        for name, limit in spec.levels:
            if value <= limit:
                found = name
    else:
        for name, limit in spec.levels:
            if value >= limit:
                found = name
    return found


def _cleared(spec: RuleSpec, value: float | None) -> bool:
    if value is None:
        return True
    first = spec.levels[0][1]
    if spec.kind == "below":
        return value > first + spec.hysteresis
    return value < first - spec.hysteresis


_VALUE = itemgetter(1)


def _window(hist: tuple[tuple[float, float], ...], ts: float, value: float,
            span: float) -> tuple[tuple[float, float], ...]:
    cut = ts - span
    first = 0  # hist is in time order (only newer readings are added): drop the too old ones at its start
    for p in hist:
        if p[0] >= cut:
            break
        first += 1
    return hist[first:] + ((ts, value),)


def calm(spec: RuleSpec) -> tuple[float, float]:
    """(low, high): a value with low <= value < high leaves a quiet state (no alarm, nothing pending, no memory)
    exactly as it is, so evaluate() need not run; an empty range for rules that remember values (means, rates)."""
    inf = float("inf")
    if spec.mean_s or not spec.levels:
        return inf, -inf
    limits = [limit for _, limit in spec.levels]
    if spec.kind == "above":
        return -inf, min(limits)
    if spec.kind == "below":
        return math.nextafter(max(limits), inf), inf
    if spec.kind == "flag" and level_of(spec, 0.0) is None:  # the subject is 0 or 1: only a false value is calm
        return 0.0, math.nextafter(0.0, 1.0)
    return inf, -inf


def is_quiet(st: State) -> bool:
    """No alarm, nothing pending, no outcomes or values remembered (what calm() values leave unchanged)."""
    return st.level is None and st.since is None and not st.mask and not st.hist


def evaluate(spec: RuleSpec, st: State, ts: float, value: float,
             local: tuple[str, int, int] | None = None) -> tuple[State, Transition | None]:
    """Apply one reading to one rule. Late or repeated readings (not newer than the last one) change nothing."""
    if ts <= st.last_ts:
        return st, None
    hist = st.hist
    if spec.kind == "rise" or spec.mean_s:
        hist = _window(hist, ts, value, spec.window_s if spec.kind == "rise" else spec.mean_s)
    subject: float | None = value
    if spec.kind == "flag":
        subject = 1.0 if value else 0.0
    elif spec.kind == "rise":
        t0, v0 = hist[0]
        subject = (value - v0) / (ts - t0) * 60.0 if ts - t0 >= spec.window_s / 2 else None
    elif spec.mean_s:
        subject = sum(map(_VALUE, hist)) / len(hist)  # the same additions in the same order, in C
    in_window = spec.schedule is None or local is None or spec.schedule.active(local)
    level = level_of(spec, subject) if subject is not None and in_window else None
    mask = ((st.mask << 1) | (level is not None)) & ((1 << spec.m) - 1)
    if st.level is None:
        if level is None:
            if not mask and not st.mask and st.since is None and not hist:
                return st, None  # quiet and staying quiet: nothing new to remember
            return State(None, None, mask, None, ts, hist), None
        since = ts if st.since is None else st.since
        if mask.bit_count() >= spec.k and ts - since >= spec.sustain_s:
            return State(level, None, mask, None, ts, hist), Transition("raise", level, value, ts)
        return State(None, since, mask, None, ts, hist), None
    if level is not None:
        if RANK[level] > RANK[st.level]:
            return State(level, None, mask, None, ts, hist), Transition("escalate", level, value, ts)
        return State(st.level, None, mask, None, ts, hist), None
    if not in_window or _cleared(spec, subject):
        clear_since = ts if st.clear_since is None else st.clear_since
        if ts - clear_since >= spec.clear_s:
            return State(None, None, mask, None, ts, hist), Transition("clear", st.level, value, ts)
        return State(st.level, None, mask, clear_since, ts, hist), None
    return State(st.level, None, mask, None, ts, hist), None  # inside the hysteresis band: still active


def offline_due(spec: RuleSpec, last_seen: float | None, now: float) -> bool:
    """True if a device last seen at last_seen (epoch s) is offline by now under an offline rule."""
    return last_seen is not None and now - last_seen >= spec.levels[0][1]


def at_least(level: str | None, wanted: str | None) -> bool:
    """True if level is at or above wanted (a None wanted is never reached)."""
    return level is not None and wanted is not None and RANK[level] >= RANK[wanted]


# Default rules per device type. Thresholds follow common Chinese practice; every field can be overridden per
# type (settings.sensor_rules) and per device (the device's rule_overrides).
NIGHT = (parse_period("22:00-06:00"),)
DEFAULT_RULES: dict[str, tuple[RuleSpec, ...]] = {
    "waterlogging": (
        RuleSpec("water_depth", "积水深度", "Water depth", "above", "depth_cm",
                 (("blue", 15), ("yellow", 27), ("red", 40)), hysteresis=3, k=2, m=3, clear_s=300,
                 case_level="yellow", warn_level="yellow", category="waterlogging"),
        RuleSpec("water_rise", "水位快速上涨", "Water rising fast", "rise", "depth_cm", (("yellow", 1.0),),
                 hysteresis=0.5, window_s=600),
        RuleSpec("battery_low", "电量低", "Low battery", "below", "battery_pct", (("blue", 20), ("yellow", 10)),
                 hysteresis=5),
        RuleSpec("offline", "设备离线", "Device offline", "offline", None, (("blue", 1800),)),
    ),
    "manhole": (
        RuleSpec("cover_open", "井盖开启/丢失", "Cover opened or lost", "flag", "open", (("red", 1),),
                 case_level="red", category="manhole"),
        RuleSpec("cover_tilt", "井盖倾斜/位移", "Cover tilted or displaced", "above", "tilt_deg",
                 (("yellow", 10), ("red", 20)), hysteresis=3, k=2, m=3, case_level="yellow", category="manhole"),
        RuleSpec("well_water", "井内水位高", "Water high in the well", "above", "depth_cm", (("yellow", 150),),
                 hysteresis=10, k=2, m=3),
        RuleSpec("battery_low", "电量低", "Low battery", "below", "battery_pct", (("blue", 20), ("yellow", 10)),
                 hysteresis=5),
        RuleSpec("offline", "设备离线", "Device offline", "offline", None, (("blue", 7200),)),
    ),
    "dust": (
        # 15-minute mean of PM10 during construction hours (night work is banned anyway).
        RuleSpec("dust_pm10", "PM10 超标", "PM10 over the limit", "above", "pm10", (("yellow", 150), ("red", 250)),
                 hysteresis=20, mean_s=900, sustain_s=300, schedule=Schedule((parse_period("06:00-22:00"),)),
                 case_level="yellow", category="dust"),
        RuleSpec("offline", "设备离线", "Device offline", "offline", None, (("blue", 1800),)),
    ),
    "noise": (
        RuleSpec("noise_night", "夜间噪声超标", "Night noise over the limit", "above", "leq_db",
                 (("yellow", 55), ("red", 65)), hysteresis=3, k=3, m=5, schedule=Schedule(NIGHT),
                 case_level="yellow", category="noise"),
        RuleSpec("noise_exam", "考试期间噪声超标", "Noise during exams", "above", "leq_db",
                 (("yellow", 55), ("red", 65)), hysteresis=3, k=2, m=3, schedule=Schedule(),
                 case_level="yellow", category="noise"),
        RuleSpec("offline", "设备离线", "Device offline", "offline", None, (("blue", 1800),)),
    ),
    "weather": (
        RuleSpec("rain_heavy", "短时强降水", "Heavy rain", "above", "rain_mm_h",
                 (("blue", 20), ("yellow", 50), ("red", 80)), hysteresis=5, k=2, m=3, clear_s=600),
        RuleSpec("offline", "设备离线", "Device offline", "offline", None, (("blue", 3600),)),
    ),
}

WARNINGS = {"yellow": ("积水，谨慎通行", "Water on the road: pass with caution", "caution"),
            "orange": ("积水较深，谨慎通行", "Deep water: pass with great caution", "caution"),
            "red": ("积水严重，暂停通行", "Flooded: road closed", "closed")}


# Alarm category -> GB/T 47678.5-2026 matter and filing condition. The standard has no 路面积水 matter: a
# waterlogging alarm is filed as 01004 雨水箅子异常, condition 02 "箅子…堵塞造成路面积水" (see docs/sensors.md).
CATEGORIES: dict[str, tuple[str, str | None]] = {
    "waterlogging": ("01004", "02"), "waterlogging_underpass": ("01072", None), "manhole": ("01023", "01"), "dust": ("08004", "01"),
    "noise": ("06028", None), "noise_construction": ("08001", None),
}
COVER_TYPES = frozenset(f"010{n:02d}" for n in range(1, 24)) - {"01004", "01013", "01016"}


def category_for(key: str, context: str | None, cover_type: str | None,
                 table: dict[str, tuple[str, str | None]] = CATEGORIES) -> tuple[str, str | None]:
    """The (matter code, condition code) of a case from an alarm of this category at this device.

    A cover alarm files under the cover's own matter (01003 雨水井盖异常 …); noise at a construction site is
    08001 施工扰民, elsewhere 06028 噪声扰民; water in an underpass is 01072 排水泵站异常 (its pumps drain it), on a
    road or square 01004/02 (the grate's condition "造成路面积水")."""
    if key == "manhole" and cover_type in COVER_TYPES:
        return cover_type, table["manhole"][1]
    if key == "noise" and context == "construction":
        key = "noise_construction"
    if key == "waterlogging" and context == "underpass":
        key = "waterlogging_underpass"
    return table[key]


TUNABLE = {"hysteresis", "sustain_s", "k", "m", "clear_s", "mean_s", "window_s", "case_level", "warn_level"}


def _schedule(base: Schedule | None, change: dict[str, Any]) -> Schedule | None:
    if not {"periods", "dates", "weekdays"} & change.keys():
        return base
    base = base or Schedule()
    periods = tuple(parse_period(p) for p in change["periods"]) if "periods" in change else base.periods
    dates = frozenset(change["dates"]) if "dates" in change else base.dates
    weekdays = frozenset(int(d) for d in change["weekdays"]) if "weekdays" in change else base.weekdays
    return Schedule(periods, dates, weekdays)


def tune(spec: RuleSpec, change: dict[str, Any]) -> RuleSpec | None:
    """A rule with overrides applied ({"levels": [["blue", 15], …], "k": 2, "periods": ["22:00-06:00"],
    "enabled": false …}); None when disabled. Raises ValueError on a bad override."""
    from dataclasses import replace

    if change.get("enabled", True) is False:
        return None
    unknown = set(change) - TUNABLE - {"levels", "enabled", "periods", "dates", "weekdays"}
    if unknown:
        raise ValueError(f"unknown rule field(s): {', '.join(sorted(unknown))}")
    fields = {k: v for k, v in change.items() if k in TUNABLE}
    try:
        for name in ("hysteresis", "sustain_s", "clear_s", "mean_s", "window_s"):
            if name in fields:
                fields[name] = float(fields[name])
                if not 0 <= fields[name] <= 86400 * 7:
                    raise ValueError(f"{name} must be between 0 and one week")
        for name in ("k", "m"):
            if name in fields:
                fields[name] = int(fields[name])
                if fields[name] < 1:
                    raise ValueError(f"{name} must be at least 1")
    except (TypeError, ValueError) as exc:
        raise ValueError(str(exc) or "bad number") from exc
    for name in ("case_level", "warn_level"):
        if fields.get(name) is not None and fields[name] not in LEVELS:
            raise ValueError(f"{name} must be one of {', '.join(LEVELS)}")
    if "levels" in change:
        try:
            levels = tuple((str(n), float(v)) for n, v in change["levels"])
        except (TypeError, ValueError) as exc:
            raise ValueError("levels must be [[level, threshold], …]") from exc
        if not levels or any(n not in LEVELS for n, _ in levels):
            raise ValueError(f"levels must be [[level, threshold], …] with levels {', '.join(LEVELS)}")
        fields["levels"] = levels
    if int(fields.get("k", spec.k)) > int(fields.get("m", spec.m)) or int(fields.get("m", spec.m)) > 60:
        raise ValueError("k must not exceed m, and m is at most 60")
    try:
        schedule = _schedule(spec.schedule, change)
    except (ValueError, TypeError, AttributeError) as exc:
        raise ValueError("periods must look like 22:00-06:00, dates and weekdays be lists") from exc
    return replace(spec, **fields, schedule=schedule)


def rules_for(device_type: str, type_overrides: dict[str, dict[str, Any]], device_overrides: dict[str, dict[str, Any]],
              exam_dates: frozenset[str]) -> tuple[RuleSpec, ...]:
    """The rules of one device: the type's defaults, then settings' per-type overrides, then the device's own.

    noise_exam applies on the exam dates only (and not at all when none are configured)."""
    out = []
    for default in DEFAULT_RULES[device_type]:
        spec: RuleSpec | None = default
        if default.code == "noise_exam":
            if not exam_dates:
                continue
            spec = tune(default, {"dates": sorted(exam_dates)})
        for change in (type_overrides.get(default.code), device_overrides.get(default.code)):
            if change and spec is not None:
                spec = tune(spec, change)
        if spec is not None:
            out.append(spec)
    return tuple(out)
