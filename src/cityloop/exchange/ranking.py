"""The city's monthly ranking of its linked platforms, from the cases they mirrored here (综合评价 data).

Rates follow standards.md §6.1 (结案率, 按期结案率, 返工率); the composite weights are this module's own (no
standard names one for a county as a whole): 结案率 40 %, 按期结案率 40 %, 100 − 返工率 20 %. Ranking and grades
are the assessment area's pure functions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.assessment.scoring import grade, rank
from cityloop.exchange.models import Link, MirrorCase, Monthly
from cityloop.config import Settings

WEIGHTS = {"close_rate": 0.4, "on_time_close_rate": 0.4, "no_rework": 0.2}
GRADES = [["A", 90], ["B", 75], ["C", 60], ["D", 40], ["E", 0]]
NOT_VALID = frozenset({"rejected", "merged", "void"})


class Tallied(Protocol):
    """What the figures need of a case: a mirrored one (city) or the platform's own (county)."""

    @property
    def stage(self) -> str: ...

    @property
    def overdue(self) -> bool: ...

    @property
    def rework_count(self) -> int: ...


def bounds(month: str, tz: str) -> tuple[datetime, datetime]:
    """The month's start and the next month's start, local midnight."""
    year, mon = int(month[:4]), int(month[5:7])
    zone = ZoneInfo(tz)
    start = datetime(year, mon, 1, tzinfo=zone)
    end = datetime(year + (mon == 12), mon % 12 + 1, 1, tzinfo=zone)
    return start, end


def figures(cases: Sequence[Tallied]) -> dict[str, Any]:
    """Counters and rates of one platform's cases reported in the month."""
    valid = [c for c in cases if c.stage not in NOT_VALID]
    closed = [c for c in valid if c.stage == "closed"]
    on_time = [c for c in closed if not c.overdue]
    reworked = [c for c in closed if c.rework_count]
    def rate(n: int, d: int) -> float | None:
        return round(n / d, 4) if d else None
    return {"reported": len(cases), "valid": len(valid), "closed": len(closed), "closed_on_time": len(on_time),
            "reworked": len(reworked), "close_rate": rate(len(closed), len(valid)),
            "on_time_close_rate": rate(len(on_time), len(valid)), "rework_rate": rate(len(reworked), len(closed))}


def composite(f: dict[str, Any]) -> float | None:
    """0–100 from the rates (None without valid cases)."""
    if not f["valid"]:
        return None
    parts = {"close_rate": 100 * f["close_rate"], "on_time_close_rate": 100 * f["on_time_close_rate"],
             "no_rework": 100 - 100 * (f["rework_rate"] or 0.0)}
    score: float = round(sum(parts[k] * w for k, w in WEIGHTS.items()), 2)
    return score


def month(session: Session, settings: Settings, month: str) -> list[dict[str, Any]]:
    """One row per linked platform: figures, score, grade, rank; and the figures the county reported itself."""
    start, end = bounds(month, settings.timezone)
    platforms = set(settings.exchange_downstream) | set(session.scalars(select(Link.platform)))
    by_platform: dict[str, list[MirrorCase]] = {p: [] for p in platforms}
    for c in session.scalars(select(MirrorCase).where(MirrorCase.reported_at >= start, MirrorCase.reported_at < end)):
        by_platform.setdefault(c.platform, []).append(c)
    own = {m.platform: m.figures for m in session.scalars(select(Monthly).where(Monthly.month == month))}
    rows: list[dict[str, Any]] = []
    for platform, cases in sorted(by_platform.items()):
        f = figures(cases)
        score = composite(f)
        rows.append({"group": "platform", "object_id": platform, "platform": platform, "month": month, **f,
                     "score": score, "grade": grade(score, GRADES), "reported_figures": own.get(platform)})
    rank(rows)
    return sorted(rows, key=lambda r: (r["rank"] is None, r["rank"] or 0, r["platform"]))
