"""The annual result (年度考核结果) per unit: its months' scores, the year's score (mean of the scored months),
grade and the 奖惩 the 考核办法 assigns; feeds the 文明单位/目标责任 assessment as JSON or Excel."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from sqlalchemy.orm import Session

from cityloop.assessment import method, scoring, service
from cityloop.assessment.figures import KINDS
from cityloop.assessment.periods import parse_period
from cityloop.config import Settings


def last_places(rows: list[dict[str, Any]]) -> set[str]:
    """Object ids ranked last in a group of at least two ranked objects."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        if row.get("rank") is not None:
            groups.setdefault(row["group"], []).append(row)
    worst: set[str] = set()
    for members in groups.values():
        bottom = max(r["rank"] for r in members)
        if len(members) > 1 and bottom > min(r["rank"] for r in members):
            worst |= {str(r["object_id"]) for r in members if r["rank"] == bottom}
    return worst


def summarise(months: dict[int, list[dict[str, Any]]], grades: scoring.GradeTable,
              rewards: list[method.Reward]) -> list[dict[str, Any]]:
    """Per object: monthly scores (1–12), the year's score (mean of the scored months), grade and 奖惩 (pure)."""
    units: dict[str, dict[str, Any]] = {}
    lasts: dict[str, int] = {}
    for month, rows in sorted(months.items()):
        for oid in last_places(rows):
            lasts[oid] = lasts.get(oid, 0) + 1
        for row in rows:
            unit = units.setdefault(str(row["object_id"]), {
                "object_id": row["object_id"], "name": row["name"], "group_name": row.get("group_name"),
                "months": dict.fromkeys(range(1, 13))})
            unit["months"][month] = row["score"]
    out: list[dict[str, Any]] = []
    for oid, unit in units.items():
        scored = [s for s in unit["months"].values() if s is not None]
        value = round(sum(scored) / len(scored), 2) if scored else None
        letter = scoring.grade(value, grades)
        actions = [r.action for r in rewards
                   if (r.grade is not None and r.grade == letter)
                   or (r.last_place_months is not None and lasts.get(oid, 0) >= r.last_place_months)]
        out.append(unit | {"months": [unit["months"][m] for m in range(1, 13)], "score": value, "grade": letter,
                           "last_place_months": lasts.get(oid, 0), "rewards": actions})
    out.sort(key=lambda u: (u["score"] is None, -(u["score"] or 0), u["name"]))
    return out


def annual(session: Session, settings: Settings, year: int, kind: str, now: datetime) -> dict[str, Any]:
    """A kind's annual result for a year (months that have begun by now)."""
    cfg = service.score_config(settings)
    rules = method.load(settings.assessment_method_file).rewards
    months: dict[int, list[dict[str, Any]]] = {}
    for m in range(1, 13):
        period = parse_period(f"{year}-{m:02d}")
        if period.start > now.date():
            break
        months[m] = service.assessment(session, settings, period, kind, now)["rows"]
    return {"year": year, "unit_type": kind, "kind_name": KINDS[kind].zh,
            "method": method.load(settings.assessment_method_file).name,
            "annual_score_rule": "年度得分 = 有得分月份综合得分的算术平均 / mean of the scored months",
            "units": summarise(months, cfg.grades, rules)}


HEADERS = ["序号", "单位", "分组"] + [f"{m}月" for m in range(1, 13)] + ["年度得分", "等级", "末位月数", "考核奖惩"]


def xlsx(data: dict[str, Any]) -> bytes:
    """The annual result as an Excel sheet, one row per unit."""
    wb = Workbook()
    ws = wb.active
    ws.title = f"{data['year']}年度考核"
    ws.append([f"{data['year']}年度{data['kind_name']}考核结果（考核办法：{data['method']}）"])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append(HEADERS)
    for cell in ws[2]:
        cell.font = Font(bold=True)
    for i, u in enumerate(data["units"], 1):
        ws.append([i, u["name"], u["group_name"], *u["months"], u["score"], u["grade"], u["last_place_months"],
                   "；".join(u["rewards"])])
    ws.append([])
    ws.append([data["annual_score_rule"]])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
