"""分析: hot spots by grid and category (高发问题), the monthly trend, where reports come from, and the
departments with the most overdue cases — all over the same per-case projection as the rankings."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from cityloop.assessment import engine, queries, service, store
from cityloop.assessment.figures import RATES, rate
from cityloop.assessment.periods import Period, months_back
from cityloop.cases.api import SOURCE_NAMES
from cityloop.config import Settings

TREND = ("reported", "filed", "handle_due", "handled", "handled_on_time", "close_due", "closed", "closed_on_time")


def trend(session: Session, settings: Settings, last: Period, now: datetime,
          months: int = 12) -> list[dict[str, Any]]:
    """Month by month up to the period's last month: cases, handling and closing figures with their rates."""
    out: list[dict[str, Any]] = []
    for month in months_back(last.end - timedelta(days=1), months):
        cols = store.fetch(session, *service.bounds_ts(settings, month), ("flags", "counts", "pending_ts"))
        data = engine.decode(cols, int(now.timestamp()), TREND)
        totals = {name: int(data.counters[name].sum()) for name in TREND}
        out.append({"period": month.key, **totals,
                    **{r: rate(RATES[r], totals) for r in ("handle_on_time_rate", "close_rate", "close_on_time_rate")}})
    return out


def analysis(session: Session, settings: Settings, period: Period, now: datetime, top: int = 10) -> dict[str, Any]:
    """Hot spots, sources, trend and the most overdue departments of a period."""
    start, end = service.bounds_ts(settings, period)
    pairs = queries.top_counts(session, start, end, ("grid", "category_code"), top)
    cats = queries.top_counts(session, start, end, ("category_code",), top)
    grids = queries.top_counts(session, start, end, ("grid",), top)
    sources = queries.top_counts(session, start, end, ("source",), 20)
    cat_names = queries.category_names(session, settings, list({c for _, c, _ in pairs} | {c for c, _ in cats}))
    grid_names = queries.objects(session, "grid", {g for g, _, _ in pairs} | {g for g, _ in grids}).names
    total = sum(n for _, n in sources)
    rows, _ = service.compute(session, settings, period, ["department"], now, compare=False)
    overdue = sorted((r for r in rows["department"] if r["counters"]["overdue_open"] or
                      r["counters"]["handled_overtime"]),
                     key=lambda r: (-r["counters"]["overdue_open"], -r["counters"]["handled_overtime"], r["name"]))
    return {
        "period": period.key, "cases": total,
        "hot_spots": [{"grid_code": str(g).zfill(15), "grid_name": grid_names.get(g, str(g)), "category_code": c,
                       "category_name": cat_names.get(c, c), "cases": n} for g, c, n in pairs],
        "top_categories": [{"category_code": c, "category_name": cat_names.get(c, c), "cases": n} for c, n in cats],
        "top_grids": [{"grid_code": str(g).zfill(15), "grid_name": grid_names.get(g, str(g)), "cases": n}
                      for g, n in grids],
        "sources": [{"source": s, "name": SOURCE_NAMES.get(s, (s, s))[0], "cases": n,
                     "share": round(n / total, 4) if total else None} for s, n in sources],
        "trend": trend(session, settings, period, now),
        "overdue_departments": [{"object_id": r["object_id"], "name": r["name"], "group_name": r["group_name"],
                                 "overdue_open": r["counters"]["overdue_open"],
                                 "handled_overtime": r["counters"]["handled_overtime"],
                                 "handle_due": r["counters"]["handle_due"]} for r in overdue[:top]],
    }
