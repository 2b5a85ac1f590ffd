"""Public services rules (pure): nearest services by walking distance, opening hours, QR short codes, phone
numbers, and the 追呼 call schedule. No database, no web, no clock: time is a parameter."""

from __future__ import annotations

import math
import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from random import Random

from cityloop.sla.domain import WorkCalendar

# Service point kinds: (zh, en, shown on the public guide). Benches and bins are component instances people use.
KINDS: dict[str, tuple[str, str, bool]] = {
    "toilet": ("公厕", "Public toilet", True), "water": ("饮水点", "Drinking water", True),
    "red_station": ("红色驿站", "Red service station", True), "convenience": ("便民服务点", "Convenience point", True),
    "transit": ("公交/出行", "Transit", True), "food": ("餐饮", "Food", True), "lodging": ("住宿", "Lodging", True),
    "shopping": ("购物", "Shopping", True), "medical": ("医疗", "Medical", True),
    "bench": ("座椅", "Bench", False), "bin": ("果皮箱", "Litter bin", False),
}
GUIDE_KINDS = tuple(k for k, v in KINDS.items() if v[2])
STATES = {"active": ("正常", "In service"), "repair": ("维修中", "Under repair"), "closed": ("停用", "Closed")}

# Without a road graph, walking distance = straight line × DETOUR. 1.3 is the usual circuity of a city street
# grid (straight-line to network distance ratios of 1.2–1.4 are typical in urban studies); 75 m/min ≈ 4.5 km/h.
DETOUR = 1.3
WALK_M_PER_MIN = 75.0
EARTH_M = 6_371_008.8
COMPASS = (("北", "north"), ("东北", "north-east"), ("东", "east"), ("东南", "south-east"),
           ("南", "south"), ("西南", "south-west"), ("西", "west"), ("西北", "north-west"))
HERE_M = 15  # closer than this there is no useful direction


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle (haversine) distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_M * math.asin(min(1.0, math.sqrt(h)))


def bearing_deg(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Initial bearing from point 1 to point 2, degrees clockwise from north in [0, 360)."""
    p1, p2, dl = math.radians(lat1), math.radians(lat2), math.radians(lon2 - lon1)
    y = math.sin(dl) * math.cos(p2)
    x = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl)
    return math.degrees(math.atan2(y, x)) % 360


def compass(bearing: float) -> tuple[str, str]:
    """One of eight compass directions (zh, en) for a bearing."""
    return COMPASS[int(((bearing % 360) + 22.5) // 45) % 8]


def distance_text(metres: float) -> tuple[str, str]:
    """'320 米' / '1.2 公里' (rounded to 10 m below a kilometre)."""
    if metres < 1000:
        m = int(round(metres / 10.0) * 10)
        return f"{m} 米", f"{m} m"
    return f"{metres / 1000:.1f} 公里", f"{metres / 1000:.1f} km"


@dataclass(frozen=True)
class Spot:
    """A candidate service point for ranking."""

    id: int
    kind: str
    name: str
    lon: float
    lat: float
    hours: str | None = None


@dataclass(frozen=True)
class Ranked:
    """A spot with its walking distance and direction from the origin."""

    spot: Spot
    straight_m: float
    walk_m: float
    minutes: int
    bearing: float
    open_now: bool | None

    def direction(self, english: bool = False) -> str:
        """'东北 320 米' / 'north-east 320 m' (the walking distance)."""
        zh_d, en_d = distance_text(self.walk_m)
        if self.straight_m < HERE_M:
            return "就在附近" if not english else "right here"
        zh_c, en_c = compass(self.bearing)
        return f"{en_c} {en_d}" if english else f"{zh_c} {zh_d}"


def rank_nearest(lon: float, lat: float, spots: Iterable[Spot], *, kinds: Iterable[str] | None = None,
                 limit: int = 5, max_walk_m: float | None = None, at: time | None = None,
                 detour: float = DETOUR, speed_m_min: float = WALK_M_PER_MIN) -> list[Ranked]:
    """The nearest spots by estimated walking distance (ties by id), with direction, minutes and open state."""
    wanted = set(kinds) if kinds is not None else None
    out = []
    for s in spots:
        if wanted is not None and s.kind not in wanted:
            continue
        straight = distance_m(lon, lat, s.lon, s.lat)
        walk = straight * detour
        if max_walk_m is not None and walk > max_walk_m:
            continue
        out.append(Ranked(s, straight, walk, max(1, math.ceil(walk / speed_m_min)),
                          bearing_deg(lon, lat, s.lon, s.lat), is_open(s.hours, at) if at else None))
    out.sort(key=lambda r: (r.walk_m, r.spot.id))
    return out[:limit]


_HOURS = re.compile(r"^(\d{1,2}):(\d{2})\s*[-–~至]\s*(\d{1,2}):(\d{2})$")
ALL_DAY = {"24h", "24小时", "全天", "00:00-24:00", "0:00-24:00"}


def parse_hours(text: str | None) -> tuple[tuple[int, int], ...] | None:
    """'06:00-22:00' or '06:00-12:00,14:00-22:00' or '24h' → minute ranges (end may pass midnight); None if empty."""
    if text is None or not text.strip():
        return None
    text = text.strip()
    if text.lower() in ALL_DAY:
        return ((0, 1440),)
    ranges = []
    for part in re.split(r"[,，;；、]", text):
        m = _HOURS.match(part.strip())
        if not m:
            raise ValueError(f"开放时间格式应为 06:00-22:00 / opening hours look like 06:00-22:00, got {part!r}")
        h1, m1, h2, m2 = (int(g) for g in m.groups())
        if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2):
            raise ValueError(f"无效时间 / invalid time in {part!r}")
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if start == end:
            raise ValueError(f"开放时间为空 / empty opening hours {part!r}")
        ranges.append((start, end if end > start else end + 1440))  # overnight: 20:00-06:00
    return tuple(ranges)


def is_open(hours: str | None, at: time) -> bool | None:
    """Open at this local time of day? None when the hours are unknown or unreadable."""
    try:
        ranges = parse_hours(hours)
    except ValueError:
        return None
    if ranges is None:
        return None
    minute = at.hour * 60 + at.minute
    return any(a <= minute < b or a <= minute + 1440 < b for a, b in ranges)


# QR short codes: 8 characters without 0/1/I/O (never misread from a printed sticker): 32^8 ≈ 10^12 codes.
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
CODE_LENGTH = 8
CODE_RE = re.compile(rf"^[{CODE_ALPHABET}]{{{CODE_LENGTH}}}$")


def new_codes(n: int, taken: Callable[[str], bool] = lambda c: False, rng: Random | None = None) -> list[str]:
    """n distinct fresh codes (none for which taken(code) is true)."""
    pick = (rng or secrets.SystemRandom()).choice
    out: dict[str, None] = {}
    while len(out) < n:
        code = "".join(pick(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if code not in out and not taken(code):
            out[code] = None
    return list(out)


def placement_url(base_url: str, code: str) -> str:
    """The absolute URL a placement's QR code encodes."""
    return f"{base_url.rstrip('/')}/public/q/{code}"


_PHONE_STRIP = re.compile(r"[\s\-()（）]")
_PHONE_OK = re.compile(r"^(1[3-9]\d{9}|0\d{9,11}|[48]00\d{7})$")


def normalize_phone(text: str) -> str:
    """A mobile, fixed-line or 400/800 number in digits only ('+86 138-0000-0000' → '13800000000')."""
    digits = _PHONE_STRIP.sub("", text or "")
    digits = re.sub(r"^(\+?86)(?=1\d{10}$)", "", digits)
    if not _PHONE_OK.match(digits):
        raise ValueError(f"无法识别的电话号码 / not a phone number: {text!r}")
    return digits


# ---- 追呼: calling the number on an illegal ad until it stops ------------------------------------------------------
# Why a campaign stops → its final status and the words shown.
STOP_REASONS: dict[str, tuple[str, str, str]] = {
    "owner_came_forward": ("cleared", "当事人已到案接受处理", "The owner came forward"),
    "ads_removed": ("cleared", "小广告已清除并核查", "Ads removed and verified"),
    "limit": ("ended", "已达呼叫上限", "Call limit reached"),
    "invalid_number": ("ended", "空号或无效号码", "Number does not exist"),
    "manual": ("stopped", "人工停止", "Stopped by staff"),
    "stop_list": ("stopped", "号码在免呼名单", "Number on the stop list"),
}
RESULTS = {"answered": ("已接听", "Answered"), "no_answer": ("无人接听", "No answer"), "busy": ("占线", "Busy"),
           "rejected": ("拒接", "Rejected"), "invalid": ("空号", "Invalid number"), "failed": ("呼叫失败", "Failed")}
STOP_ON_RESULT = {"invalid": "invalid_number"}
MAX_SCAN_DAYS = 400  # a schedule looks this far ahead at most (long holidays included)


@dataclass(frozen=True)
class CallPlan:
    """How a campaign calls: (from working day, calls per day) levels escalate; limits end it."""

    levels: tuple[tuple[int, int], ...] = ((1, 3), (3, 6), (6, 10))
    max_days: int = 10
    max_calls: int = 80
    min_gap_minutes: int = 20

    def level(self, day_no: int) -> tuple[int, int]:
        """(level 1…, calls per day) on the campaign's day_no-th working day."""
        chosen = (1, self.levels[0][1])
        for i, (from_day, per_day) in enumerate(sorted(self.levels), start=1):
            if day_no >= from_day:
                chosen = (i, per_day)
        return chosen


@dataclass(frozen=True)
class CampaignState:
    """What the schedule needs to know about a campaign; calls_by_day counts calls per local date."""

    started_at: datetime
    calls: int = 0
    last_call_at: datetime | None = None
    calls_by_day: Mapping[date, int] | None = None
    running: bool = True


@dataclass(frozen=True)
class NextCall:
    """The schedule's answer: call at `at` (now or later) with a warning `level`, or stop for `reason`."""

    kind: str  # call | stop
    at: datetime | None = None
    level: int = 0
    day_no: int = 0
    reason: str | None = None


def day_slots(cal: WorkCalendar, day: date, per_day: int) -> list[datetime]:
    """per_day call times spread evenly over the working periods of a working day (the first at opening)."""
    windows = [(datetime.combine(day, a, cal.tz), datetime.combine(day, b, cal.tz)) for a, b in cal.periods]
    total = sum((b - a).total_seconds() for a, b in windows)
    slots = []
    for i in range(per_day):
        offset = total * i / per_day
        for a, b in windows:
            span = (b - a).total_seconds()
            if offset < span:
                slots.append(a + timedelta(seconds=offset))
                break
            offset -= span
    return slots


def _working_at_or_after(cal: WorkCalendar, t: datetime) -> datetime | None:
    """The first working moment at or after t on t's own local day, else None."""
    local = t.astimezone(cal.tz)
    for a, b in cal.periods:
        start, end = datetime.combine(local.date(), a, cal.tz), datetime.combine(local.date(), b, cal.tz)
        if local < end:
            return max(local, start)
    return None


def next_call(state: CampaignState, now: datetime, cal: WorkCalendar, plan: CallPlan) -> NextCall:
    """When to call next: evenly spread calls on working days, escalating by working day, no calls missed in the
    past made up on a later day, at least min_gap apart; stop after max_calls calls or max_days working days."""
    if not state.running:
        return NextCall("stop", reason="manual")
    if state.calls >= plan.max_calls:
        return NextCall("stop", reason="limit")
    by_day = state.calls_by_day or {}
    earliest = max(now, state.started_at)
    if state.last_call_at is not None:
        earliest = max(earliest, state.last_call_at + timedelta(minutes=plan.min_gap_minutes))
    start_day, day = state.started_at.astimezone(cal.tz).date(), earliest.astimezone(cal.tz).date()
    day_no = sum(1 for k in range((day - start_day).days) if cal.is_workday(start_day + timedelta(days=k)))
    for _ in range(MAX_SCAN_DAYS):
        if cal.is_workday(day):
            day_no += 1
            if day_no > plan.max_days:
                return NextCall("stop", reason="limit", day_no=day_no)
            level, per_day = plan.level(day_no)
            for slot in day_slots(cal, day, per_day)[by_day.get(day, 0):]:
                at = _working_at_or_after(cal, max(slot, earliest))
                if at is not None and at.date() == day:
                    return NextCall("call", at=at.astimezone(timezone.utc), level=level, day_no=day_no)
        day += timedelta(days=1)
    return NextCall("stop", reason="limit")
