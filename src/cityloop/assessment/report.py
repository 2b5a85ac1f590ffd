"""The monthly report (月度考核通报): what it says, and its Excel form (one sheet per peer group, values only, charts).
The PDF form is in pdf.py; both render the same data."""

from __future__ import annotations

import io
import re
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.chart import BarChart, LineChart, PieChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from sqlalchemy.orm import Session

from cityloop.assessment import analysis, engine, service
from cityloop.assessment.figures import KINDS, LABELS, RATES
from cityloop.assessment.periods import Period
from cityloop.config import Settings

if TYPE_CHECKING:
    from openpyxl.worksheet.worksheet import Worksheet

# The ranking table's columns: (key, header); rates are shares (0–1).
COLUMNS = [("rank", "排名"), ("name", "单位"), ("score", "综合得分"), ("grade", "等级"), ("handle_due", "应处置数"),
           ("handled", "处置数"), ("handled_on_time", "按期处置数"), ("closed", "结案数"), ("reworked", "返工案件数"),
           ("overdue_open", "超期未处置数"), ("handle_rate", "处置率"), ("handle_on_time_rate", "按期处置率"),
           ("close_rate", "结案率"), ("rework_rate", "返工率"), ("satisfaction_rate", "满意率"),
           ("rank_change", "名次变化")]
SUMMARY = ("reported", "valid_reported", "filed", "handle_due", "handled", "handled_on_time", "overdue_open",
           "close_due", "closed", "closed_on_time", "reworked")
SUMMARY_RATES = ("valid_report_rate", "handle_rate", "handle_on_time_rate", "close_rate", "close_on_time_rate",
                 "rework_rate")
FONT_DIRS = (Path("/usr/share/fonts/truetype"), Path("/usr/share/fonts/opentype"), Path("/usr/local/share/fonts"))
PREFERRED = ("wqy-microhei.ttc", "wqy-zenhei.ttc", "DroidSansFallbackFull.ttf", "uming.ttc", "ukai.ttc")
CJK_NAME = re.compile(r"wqy|cjk|hei|song|ming|kai|fallback|simsun|yahei", re.IGNORECASE)
# The ranking tables' columns in the PDF and Word reports (fewer than the Excel sheets': a page is narrower).
PRINT_COLUMNS = [("rank", "排名"), ("name", "单位"), ("score", "得分"), ("grade", "等级"), ("handle_due", "应处置"),
                 ("handled_on_time", "按期处置"), ("closed", "结案"), ("overdue_open", "超期未处置"),
                 ("handle_on_time_rate", "按期处置率"), ("close_rate", "结案率"), ("rework_rate", "返工率"),
                 ("rank_change", "名次变化")]


def font_candidates(configured: Path | None) -> list[Path]:
    """Chinese font files to try for the PDF and Word reports' text and charts, the preferred first."""
    if configured is not None:
        return [Path(configured)]
    found = [p for d in FONT_DIRS if d.is_dir() for p in d.rglob("*.tt[cf]") if CJK_NAME.search(p.name)]
    return sorted(found, key=lambda p: (p.name not in PREFERRED, PREFERRED.index(p.name) if p.name in PREFERRED
                                        else 0, str(p)))


def shown(key: str, value: Any) -> str:
    """A figure as the printed reports show it: rates in per cent, rank changes as arrows, none as a dash."""
    if value is None:
        return "—"
    if key.endswith("_rate"):
        return f"{value * 100:.1f}%"
    if key == "rank_change":
        return f"↑{value}" if value > 0 else (f"↓{-value}" if value < 0 else "—")
    return str(value)


def cell(row: dict[str, Any], key: str) -> Any:
    """A ranking row's value for a column (None when not defined)."""
    if key in row:
        return row[key]
    if key in RATES:
        return row["rates"].get(key)
    return row["counters"].get(key)


def monthly(session: Session, settings: Settings, period: Period, now: datetime) -> dict[str, Any]:
    """Everything the monthly report shows: totals, department rankings by peer group, streets, analysis."""
    dept = service.assessment(session, settings, period, "department", now)
    streets = service.assessment(session, settings, period, "street", now)
    districts = service.assessment(session, settings, period, "district", now)["rows"]
    totals = {name: sum(r["counters"].get(name, 0) for r in districts) for name in KINDS["district"].counters}
    groups: dict[str, tuple[str, list[dict[str, Any]]]] = {}
    for row in dept["rows"]:
        groups.setdefault(row["group"], (row["group_name"], []))[1].append(row)
    return {"period": period.key, "label": period.label[0], "source": dept["source"],
            "published_at": dept["published_at"], "generated_at": now.astimezone(ZoneInfo(settings.timezone)),
            "summary": [(LABELS[n][0], totals[n]) for n in SUMMARY],
            "summary_rates": [(RATES[r].zh, engine.rates_of("district", totals).get(r)) for r in SUMMARY_RATES],
            "groups": [(name, rows) for _, (name, rows) in sorted(groups.items())],
            "streets": streets["rows"], "analysis": analysis.analysis(session, settings, period, now)}


def _title(ws: Worksheet, text: str, width: int) -> None:
    ws.append([text])
    ws.merge_cells(start_row=ws.max_row, start_column=1, end_row=ws.max_row, end_column=width)
    ws.cell(ws.max_row, 1).font = Font(size=14, bold=True)


def _table(ws: Worksheet, headers: list[str], rows: list[list[Any]], rate_columns: set[int]) -> tuple[int, int]:
    """Append a header and rows; returns the first and last data row numbers."""
    ws.append(headers)
    for col in range(1, len(headers) + 1):
        c = ws.cell(ws.max_row, col)
        c.font, c.fill = Font(bold=True), PatternFill("solid", fgColor="DCE6F1")
        c.alignment = Alignment(horizontal="center")
    first = ws.max_row + 1
    for values in rows:
        ws.append(values)
        for col in rate_columns:
            ws.cell(ws.max_row, col).number_format = "0.0%"
    return first, ws.max_row


def _widths(ws: Worksheet, widths: list[int]) -> None:
    for i, w in enumerate(widths, 1):
        ws.column_dimensions[get_column_letter(i)].width = w


def _ranking_sheet(wb: Workbook, title: str, heading: str, rows: list[dict[str, Any]]) -> None:
    ws = wb.create_sheet(title[:31])
    _title(ws, heading, len(COLUMNS))
    rates = {i for i, (k, _) in enumerate(COLUMNS, 1) if k in RATES}
    first, last = _table(ws, [h for _, h in COLUMNS], [[cell(r, k) for k, _ in COLUMNS] for r in rows], rates)
    _widths(ws, [6, 26, 9, 6] + [10] * (len(COLUMNS) - 4))
    ws.freeze_panes = ws.cell(first, 3)
    scored = [r for r in rows if r["score"] is not None]
    if scored:
        chart = BarChart()
        chart.type, chart.title, chart.y_axis.title = "bar", f"{heading} 综合得分", "得分"
        chart.add_data(Reference(ws, min_col=3, min_row=first - 1, max_row=first + len(scored) - 1),
                       titles_from_data=True)
        chart.set_categories(Reference(ws, min_col=2, min_row=first, max_row=first + len(scored) - 1))
        chart.height, chart.width, chart.legend = max(7.5, 0.5 * len(scored)), 18, None
        ws.add_chart(chart, f"{get_column_letter(len(COLUMNS) + 2)}2")


def xlsx(data: dict[str, Any]) -> bytes:
    """The monthly report as an Excel workbook: a summary sheet, then one ranking sheet per peer group."""
    wb = Workbook()
    ws = wb.active
    ws.title = "概况"
    source = "已发布" if data["source"] == "published" else "实时计算（未发布）"
    _title(ws, f"{data['label']}数字城管综合评价月报", 4)
    ws.append([f"数据：{source}；生成时间：{data['generated_at']:%Y-%m-%d %H:%M}"])
    ws.append([])
    _table(ws, ["指标", "数值"], [list(p) for p in data["summary"]], set())
    first, _ = _table(ws, ["比率", "数值"], [list(p) for p in data["summary_rates"]], {2})
    ws.append([])
    a = data["analysis"]
    first, last = _table(ws, ["来源", "案件数"], [[s["name"], s["cases"]] for s in a["sources"]], set())
    if a["sources"]:
        pie = PieChart()
        pie.title = "案件来源"
        pie.add_data(Reference(ws, min_col=2, min_row=first - 1, max_row=last), titles_from_data=True)
        pie.set_categories(Reference(ws, min_col=1, min_row=first, max_row=last))
        ws.add_chart(pie, "E2")
    ws.append([])
    first, last = _table(ws, ["高发问题", "案件数"], [[c["category_name"], c["cases"]] for c in a["top_categories"]],
                         set())
    ws.append([])
    first, last = _table(ws, ["月份", "案件数", "按期处置率"],
                         [[t["period"], t["reported"], t["handle_on_time_rate"]] for t in a["trend"]], {3})
    line = LineChart()
    line.title, line.y_axis.title = "案件数走势", "案件数"
    line.add_data(Reference(ws, min_col=2, min_row=first - 1, max_row=last), titles_from_data=True)
    line.set_categories(Reference(ws, min_col=1, min_row=first, max_row=last))
    ws.add_chart(line, "E20")
    _widths(ws, [22, 14, 12])
    for name, rows in data["groups"]:
        _ranking_sheet(wb, name, f"{data['label']} {name}", rows)
    _ranking_sheet(wb, "街道乡镇", f"{data['label']} 街道/乡镇", data["streets"])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
