"""Assessment periods (pure): a month, a quarter, a year or any range of local dates."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

MAX_DAYS = 3660


class PeriodError(ValueError):
    """A period text that cannot be read."""


@dataclass(frozen=True)
class Period:
    """[start, end) in local dates; key is the canonical text."""

    key: str
    kind: str  # month | quarter | year | range
    start: date
    end: date

    @property
    def label(self) -> tuple[str, str]:
        """How the period is named in reports (zh, en)."""
        if self.kind == "month":
            return f"{self.start.year}年{self.start.month}月", self.start.strftime("%B %Y")
        if self.kind == "quarter":
            q = (self.start.month - 1) // 3 + 1
            return f"{self.start.year}年第{q}季度", f"Q{q} {self.start.year}"
        if self.kind == "year":
            return f"{self.start.year}年", str(self.start.year)
        last = self.end - timedelta(days=1)
        return f"{self.start:%Y年%m月%d日}至{last:%Y年%m月%d日}", f"{self.start} to {last}"

    def bounds(self, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """The period as aware datetimes [start, end) at local midnight."""
        return datetime.combine(self.start, time(0), tz), datetime.combine(self.end, time(0), tz)


def _month(y: int, m: int) -> Period:
    if not 1 <= m <= 12:
        raise PeriodError(f"月份应为 1–12 / month must be 1–12, got {m}")
    end = date(y + (m == 12), m % 12 + 1, 1)
    return Period(f"{y:04d}-{m:02d}", "month", date(y, m, 1), end)


def _quarter(y: int, q: int) -> Period:
    if not 1 <= q <= 4:
        raise PeriodError(f"季度应为 1–4 / quarter must be 1–4, got {q}")
    start = date(y, 3 * q - 2, 1)
    return Period(f"{y:04d}-Q{q}", "quarter", start, _month(y, 3 * q).end)


def parse_period(text: str) -> Period:
    """'2026-10' (month), '2026-Q4' (quarter), '2026' (year) or '2026-10-05..2026-10-20' (inclusive range)."""
    text = (text or "").strip()
    year = re.match(r"\d{4}", text)
    if year and not 1971 <= int(year[0]) <= 2999:
        raise PeriodError(f"年份应在 1971–2999 之间 / the year must be 1971–2999, got {year[0]}")
    try:
        if m := re.fullmatch(r"(\d{4})-(\d{1,2})", text):
            return _month(int(m[1]), int(m[2]))
        if m := re.fullmatch(r"(\d{4})-[Qq]([1-4])", text):
            return _quarter(int(m[1]), int(m[2]))
        if m := re.fullmatch(r"(\d{4})", text):
            y = int(m[1])
            return Period(f"{y:04d}", "year", date(y, 1, 1), date(y + 1, 1, 1))
        if m := re.fullmatch(r"(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})", text):
            start, last = date.fromisoformat(m[1]), date.fromisoformat(m[2])
            if last < start or (last - start).days >= MAX_DAYS:
                raise PeriodError("日期范围无效 / the range must run forward and span at most ten years")
            return Period(f"{start}..{last}", "range", start, last + timedelta(days=1))
    except ValueError as exc:
        if isinstance(exc, PeriodError):
            raise
        raise PeriodError(f"日期无效 / invalid date in {text!r}") from exc
    raise PeriodError(f"期间格式应为 2026-10、2026-Q4、2026 或 2026-10-01..2026-10-15 / unknown period {text!r}")


def previous(period: Period) -> Period:
    """The period just before, of the same kind and length."""
    if period.kind == "month":
        y, m = period.start.year, period.start.month
        return _month(y - (m == 1), (m - 2) % 12 + 1)
    if period.kind == "quarter":
        q = (period.start.month - 1) // 3 + 1
        return _quarter(period.start.year - (q == 1), (q - 2) % 4 + 1)
    if period.kind == "year":
        return parse_period(str(period.start.year - 1))
    length = period.end - period.start
    start = period.start - length
    return Period(f"{start}..{period.start - timedelta(days=1)}", "range", start, period.start)


def last_month(today: date) -> Period:
    """The calendar month before the one `today` is in."""
    return previous(_month(today.year, today.month))


def months_back(today: date, count: int) -> list[Period]:
    """The `count` months up to and including today's, oldest first."""
    out = [_month(today.year, today.month)]
    while len(out) < count:
        out.insert(0, previous(out[0]))
    return out
