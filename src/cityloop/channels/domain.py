"""Pure rules of the intake channels: tracking codes, phones, spam, category guessing, geocoding scores, the public
view of a case's history, video repeats, photo evidence flags and patrol figures. No database, no clock."""

from __future__ import annotations

import math
import re
import secrets
from collections.abc import Iterable
from datetime import datetime

# Tracking codes avoid look-alikes (0/O, 1/I/L) so they can be read over the phone.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8
CHANNEL_NAMES = {"inspector": ("监督员上报", "Inspector"), "public": ("公众上报（拍一拍）", "Public (拍一拍)"),
                 "hotline": ("热线", "Hotline"), "video": ("视频抓拍", "Video"), "sensor": ("传感器", "Sensor"),
                 "fleet": ("渣土车监管", "Fleet"), "assigned": ("上级交办", "Assigned"), "open311": ("Open311", "Open311")}
RATINGS = ("满意", "基本满意", "不满意")


def new_tracking_code() -> str:
    """A random 8-character tracking code (about 8.5e11 possibilities)."""
    # One draw for the whole code, as uniform as a draw per character, costs one read of the OS's randomness, not 8.
    n, code = secrets.randbelow(len(CODE_ALPHABET) ** CODE_LENGTH), []
    for _ in range(CODE_LENGTH):
        n, digit = divmod(n, len(CODE_ALPHABET))
        code.append(CODE_ALPHABET[digit])
    return "".join(code)


def normalize_code(code: str) -> str | None:
    """A tracking code as typed (any case, spaces or dashes) → canonical form, or None if it cannot be one."""
    cleaned = re.sub(r"[\s-]", "", code or "").upper()
    if len(cleaned) != CODE_LENGTH or any(c not in CODE_ALPHABET for c in cleaned):
        return None
    return cleaned


def normalize_phone(phone: str) -> str | None:
    """A Chinese mobile (1xxxxxxxxxx) or landline (0xx-xxxxxxxx) number without separators, or None if invalid."""
    digits = re.sub(r"[\s()-]", "", phone or "").removeprefix("+86")
    if re.fullmatch(r"1[3-9]\d{9}", digits) or re.fullmatch(r"0\d{9,11}", digits):
        return digits
    return None


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LINK = re.compile(r"(https?://|www\.|<\s*/?\s*[a-z]+[^>]*>)", re.IGNORECASE)


def text_problems(text: str) -> list[str]:
    """Why a citizen's text is refused: control characters, links or markup (reports carry no code or HTML)."""
    problems = []
    if _CONTROL.search(text):
        problems.append("control-characters")
    if _LINK.search(text):
        problems.append("links-or-markup")
    return problems


def spam_reasons(description: str, honeypot: str | None) -> list[str]:
    """Signs of an automated or abusive submission (the hidden form field is filled only by bots)."""
    reasons = text_problems(description)
    if honeypot:
        reasons.append("honeypot")
    if len(description) >= 20 and len(set(description)) <= 2:
        reasons.append("repeated-characters")
    return reasons


def _bigrams(text: str) -> set[str]:
    text = re.sub(r"[\s，。、,.!！?？（）()]", "", text)
    return {text[i:i + 2] for i in range(len(text) - 1)} | ({text} if len(text) == 1 else set())


def guess_category(text: str, matters: Iterable[tuple[str, str]]) -> str | None:
    """The matter whose name best matches free text (shared character pairs), or None when nothing matches."""
    words = _bigrams(text)
    best, best_score = None, 0.0
    for code, name in matters:
        pairs = _bigrams(name)
        if not pairs:
            continue
        score = len(words & pairs) / len(pairs) + (1.0 if name in text else 0.0)
        if score > best_score:
            best, best_score = code, score
    return best if best_score >= 0.5 else None


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(min(1.0, math.sqrt(a)))


def degrees_around(lat: float, metres: float) -> tuple[float, float]:
    """Half-widths (Δlon, Δlat) in degrees of a box of ±metres around a latitude, for a coarse prefilter."""
    dlat = metres / 111_320.0
    return dlat / max(math.cos(math.radians(lat)), 0.01), dlat


# What the public sees of a case's history: only steps that change what happens to the report, in plain words.
PUBLIC_STEPS: dict[str, tuple[str, str]] = {
    "report": ("已收到上报", "Report received"), "accept": ("已受理", "Accepted"),
    "verify_ok": ("现场核实属实", "Verified on site"), "verify_fail": ("经现场核实，问题不属实", "Not confirmed on site"),
    "file": ("已立案", "Case opened"), "dispatch": ("已派遣至处置单位", "Sent to the responsible unit"),
    "handle": ("处置单位已处理", "Handled by the responsible unit"), "check_ok": ("现场核查通过", "Checked on site"),
    "check_fail": ("核查未通过，返工处理", "Check failed; being redone"), "close": ("已办结", "Closed"),
    "self_close": ("已办结", "Closed"), "reject": ("不予受理", "Not accepted"), "refuse": ("不予立案", "Not opened"),
    "merge": ("与其他上报合并处理", "Merged with another report"), "void": ("已撤销", "Withdrawn"),
    "rate": ("已评价", "Rated"), "resume": ("恢复处置", "Handling resumed"),
}
PUBLIC_STAGES: dict[str, tuple[str, str]] = {
    "reported": ("已收到，待受理", "Received"), "verifying": ("现场核实中", "Being verified"),
    "accepted": ("已受理", "Accepted"), "filed": ("已立案，待派遣", "Opened"), "dispatched": ("处置中", "In progress"),
    "suspended": ("处置中", "In progress"), "handled": ("已处置，待核查", "Handled, being checked"),
    "checked": ("已处置，待办结", "Handled"), "closed": ("已办结", "Closed"), "rejected": ("不予受理", "Not accepted"),
    "merged": ("已合并", "Merged"), "void": ("已撤销", "Withdrawn"),
}
CLOSED_STAGES = frozenset({"closed", "rejected", "merged", "void"})


def public_steps(events: Iterable[tuple[str, datetime]]) -> list[tuple[str, datetime, str, str]]:
    """(action, at, zh, en) for the events the public may see, in order."""
    return [(a, at, *PUBLIC_STEPS[a]) for a, at in events if a in PUBLIC_STEPS]


def open311_status(stage: str) -> str:
    """GeoReport v2 knows only open and closed."""
    return "closed" if stage in CLOSED_STAGES else "open"


def can_rate(stage: str, already_rated: bool) -> bool:
    """A reporter rates once, after the case is closed."""
    return stage == "closed" and not already_rated


def video_needs_verification(confidence: float, threshold: float) -> bool:
    """Low-confidence captures are verified on site (核实) before anyone acts on them."""
    return confidence < threshold


def is_repeat(last_at: datetime | None, captured_at: datetime, window_minutes: float, case_open: bool) -> bool:
    """A capture repeats the last one when that one's case is still open and it came within the window."""
    if last_at is None or not case_open:
        return False
    return abs((captured_at - last_at).total_seconds()) <= window_minutes * 60


def hamming(a: str, b: str) -> int:
    """Bits that differ between two hex perceptual hashes of equal length."""
    return bin(int(a, 16) ^ int(b, 16)).count("1")


def evidence_flags(exif_time: datetime | None, exif_point: tuple[float, float] | None, taken_for: datetime,
                   place: tuple[float, float], max_m: float, max_hours: float
                   ) -> tuple[list[str], float | None, float | None]:
    """Flags from a photo's EXIF against its case: (flags, distance m, gap minutes). Missing EXIF is a flag too,
    never a rejection (many phones strip it)."""
    flags: list[str] = []
    distance = gap = None
    if exif_point is None:
        flags.append("no-exif-position")
    else:
        distance = haversine_m(exif_point[0], exif_point[1], place[0], place[1])
        if distance > max_m:
            flags.append("far-from-report")
    if exif_time is None:
        flags.append("no-exif-time")
    else:
        gap = (taken_for - exif_time).total_seconds() / 60
        if gap > max_hours * 60:
            flags.append("taken-long-before")
        elif gap < -10:  # a clock may be a few minutes off; more means the time is wrong
            flags.append("taken-after-upload")
    return flags, distance, gap


FLAG_NAMES = {
    "no-exif-position": ("照片无定位信息", "No GPS in the photo"),
    "far-from-report": ("拍摄位置与上报位置相距较远", "Taken far from the reported place"),
    "no-exif-time": ("照片无拍摄时间", "No capture time in the photo"),
    "taken-long-before": ("拍摄时间远早于上传时间", "Taken long before it was uploaded"),
    "taken-after-upload": ("拍摄时间晚于上传时间", "Capture time is after the upload"),
    "reused-photo": ("与其他案件的照片相同", "Same picture as on another case"),
    "repeats-earlier-photo": ("与本案先前的照片相同", "Same picture as earlier on this case"),
}


def track_length_m(points: list[tuple[float, float]]) -> float:
    """Length of a patrol track (lon, lat points in order)."""
    return sum(haversine_m(*a, *b) for a, b in zip(points, points[1:]))
