"""Campaign rules (pure): validating a campaign, which cases it claims, and its progress per duty grid."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

THEMES: dict[str, tuple[str, str]] = {
    "greening": ("绿化管理", "Greening"),
    "lighting": ("城市亮化", "Lighting"),
    "facilities": ("市政设施普查", "Municipal facilities census"),
    "illegal_ads": ("“野广告”清理", "Illegal small ads"),
    "event_support": ("重大活动保障", "Major event support"),
    "other": ("其他专项", "Other"),
}
CODE = re.compile(r"[0-9A-Za-z]{1,8}")
MAX_DAYS = 366


@dataclass(frozen=True)
class Window:
    """When a campaign runs: [starts_at, ends_at)."""

    starts_at: datetime
    ends_at: datetime

    def contains(self, at: datetime) -> bool:
        return self.starts_at <= at < self.ends_at


def window_problem(starts_at: datetime, ends_at: datetime) -> tuple[str, str] | None:
    """Why this is not a campaign window (zh, en), or None."""
    if ends_at <= starts_at:
        return "结束时间应晚于开始时间", "ends_at must be after starts_at"
    if (ends_at - starts_at).days > MAX_DAYS:
        return f"专项普查不能超过 {MAX_DAYS} 天", f"a campaign may last at most {MAX_DAYS} days"
    return None


def claims(categories: frozenset[str], grids: frozenset[str], window: Window, category_code: str,
           duty_grid_code: str | None, at: datetime) -> bool:
    """The tagging rule: the matter is one of the campaign's, in one of its grids, reported inside its window."""
    return category_code in categories and duty_grid_code in grids and window.contains(at)


@dataclass
class GridProgress:
    """One duty grid's part of a campaign."""

    grid: str
    items_done: int = 0
    items_total: int = 0
    cases_found: int = 0
    cases_closed: int = 0

    @property
    def done_ratio(self) -> float:
        return round(self.items_done / self.items_total, 4) if self.items_total else 0.0


@dataclass
class Progress:
    """A campaign's progress: per grid and overall."""

    grids: list[GridProgress] = field(default_factory=list)
    overall: GridProgress = field(default_factory=lambda: GridProgress("*"))


def progress(grids: list[str], item_count: int, done: list[tuple[str, int]], cases: list[tuple[str | None, bool]]
             ) -> Progress:
    """Per grid: checklist items done of total, cases found and closed; done = (grid, item id) pairs, cases =
    (duty grid, closed). A tagged case outside the assigned grids counts only overall."""
    rows = {g: GridProgress(g, items_total=item_count) for g in grids}
    for grid, _ in set(done):
        if grid in rows:
            rows[grid].items_done += 1
    total = GridProgress("*", items_total=item_count * len(rows))
    for case_grid, closed in cases:
        for row in ([rows[case_grid]] if case_grid is not None and case_grid in rows else []) + [total]:
            row.cases_found += 1
            row.cases_closed += closed
    total.items_done = sum(r.items_done for r in rows.values())
    return Progress([rows[g] for g in grids], total)
