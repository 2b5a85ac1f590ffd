"""Pure rules of the geocoder: normalising what callers say, parsing spoken address forms, house-number
interpolation along a road, and the wording of a reverse-geocoded place."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache

from pypinyin import Style, lazy_pinyin

KINDS = ("address", "intersection", "road", "poi", "community", "town")
# Ties between equally good names: a POI or road is what a caller usually means, a town the least.
KIND_BONUS = {"address": 4, "intersection": 4, "poi": 3, "road": 2, "community": 1, "town": 0}

_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
_CN_NUMBER = re.compile(r"[零〇一二两三四五六七八九十百千]+(?=号)")
_PUNCT = re.compile(r"[\s,，。.、;；:：!！?？\"“”'‘’()（）\[\]【】<>《》~～·]+")
_NUMBER = re.compile(r"^(?P<road>.+?)(?P<num>\d{1,5})(?:[-之]\d{1,4})?(?:号|號)(?P<rest>.*)$|^(?P<road2>.+?)(?P<num2>\d{1,5})$")
_CROSSING = re.compile(r"(?:的)?(?:交叉路口|交叉口|十字路口|丁字路口|交汇处|交会处|交口|路口)(?:附近|旁边|旁|处|东|西|南|北)*$")
_SEPARATORS = "与和跟同及&/×x"
_TRAILERS = re.compile(r"(?:东门|西门|南门|北门|正门|大门|后门|侧门|门口|门前|附近|旁边|边上|对面|那边|这边|这里|那里|里面|"
                       r"路边|一带|周边|旁|内|前|后|处|楼下)+$")
_LEADERS = re.compile(r"^(?:我在|我们在|就在|位于|地址是|地址|在)")
CONTEXT_SUFFIXES = ("街道办事处", "街道", "社区居委会", "居委会", "社区", "村委会", "镇", "乡", "村")


def cn_number(text: str) -> int:
    """A Chinese numeral below 10,000 ("八十八" → 88, "一零八" → 108)."""
    if all(c in _CN_DIGITS for c in text):
        return int("".join(str(_CN_DIGITS[c]) for c in text))
    total, digit = 0, 0
    for c in text:
        if c in _CN_DIGITS:
            digit = _CN_DIGITS[c]
        else:
            total += (digit or 1) * _CN_UNITS[c]
            digit = 0
    return total + digit


def normalize(text: str) -> str:
    """Full-width to half-width, lower case, no spaces or punctuation, Chinese house numbers as digits."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = _CN_NUMBER.sub(lambda m: str(cn_number(m.group(0))), text)
    return _PUNCT.sub("", text)


def _as_is(chars: str) -> list[str]:
    """Characters without pinyin (letters, digits) stay as they are, one by one."""
    return list(chars)


@cache
def _initial(char: str) -> str:
    # pypinyin's stub says the errors callback returns a str; the library also takes a list (its documented use)
    return "".join(lazy_pinyin(char, style=Style.FIRST_LETTER, errors=_as_is)).lower()  # type: ignore[arg-type]


def initials(name: str) -> str:
    """Pinyin initials of a name ("永阳路" → "yyl"); letters and digits are kept as they are. Character by character
    (memoised): an index of 100,000 names is built in a second instead of a minute."""
    return "".join(_initial(c) for c in normalize(name))


def short_forms(name: str) -> list[str]:
    """A town's or community's name and its spoken short form ("新安镇" → 新安镇, 新安)."""
    n = normalize(name)
    out = [n]
    for suffix in CONTEXT_SUFFIXES:
        if n.endswith(suffix) and len(n) - len(suffix) >= 2:
            out.append(n[: -len(suffix)])
            break
    return out


def strip_fillers(text: str) -> str:
    """Drop spoken lead-ins ("我在…") and trailers ("…东门", "…附近"); never down to nothing."""
    core = _LEADERS.sub("", text)
    core = _TRAILERS.sub("", core) or core
    return core or text


@dataclass(frozen=True)
class Parsed:
    """What a normalised query asks for: plain names, a door plate or a crossing."""

    text: str
    road: str | None = None
    number: int | None = None
    crossings: tuple[tuple[str, str], ...] = ()
    explicit_crossing: bool = False


def parse(text: str) -> Parsed:
    """The spoken forms "<road><n>号", "<road>与<road>交叉口" and a bare name (text already normalised)."""
    text = strip_fillers(text)
    m = _NUMBER.match(text)
    if m:
        road, num = (m.group("road"), m.group("num")) if m.group("num") else (m.group("road2"), m.group("num2"))
        road = _LEADERS.sub("", road) or road
        if len(road) >= 1 and int(num) > 0:
            return Parsed(text=road, road=road, number=int(num))
    core = _CROSSING.sub("", text)
    explicit = core != text
    crossings = []
    for i, c in enumerate(core):
        if c in _SEPARATORS and 0 < i < len(core) - 1:
            crossings.append((core[:i], core[i + 1:]))
    return Parsed(text=core if explicit else text, crossings=tuple(crossings), explicit_crossing=explicit)


def name_score(query: str, name: str) -> int:
    """0–100 for a query against one normalised name without fuzzy matching: exact, prefix, contained."""
    if query == name:
        return 100
    if name.startswith(query):
        return 80
    if len(name) >= 2 and name in query:
        return 70 + int(25 * len(name) / len(query))
    if len(query) >= 2 and query in name:
        return max(55, 80 - 4 * (len(name) - len(query)))
    return 0


def fuzzy_score(ratio: float) -> int:
    """rapidfuzz's 0–100 similarity as a geocoding score: a typo never outranks an exact name."""
    return int(ratio * 0.85)


def parity_ok(number: int, start: int, end: int) -> bool:
    """House numbers run odd on one side and even on the other: the range's start fixes the parity."""
    return (number - start) % 2 == 0 and min(start, end) <= number <= max(start, end)


def range_fraction(number: int, start: int, end: int) -> float:
    """Where a house number lies along a range (0 at its start, 1 at its end)."""
    return 0.5 if start == end else (number - start) / (end - start)


def number_at(fraction: float, start: int, end: int) -> int:
    """The house number at a fraction of a range, with the range's parity."""
    n = round(start + fraction * (end - start))
    if (n - start) % 2:
        n += 1 if end >= start else -1
    lo, hi = min(start, end), max(start, end)
    return min(max(n, lo), hi)


def near_label(road: str | None, number: int | None, poi: str | None = None) -> str:
    """How a pin is described to citizens: "永阳路 88号附近", "永阳路附近" or "县人民医院附近"."""
    if road and number:
        return f"{road} {number}号附近"
    return f"{road or poi}附近"
