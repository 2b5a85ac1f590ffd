"""The monthly report as PDF (reportlab), with an embedded Chinese TrueType font and bar charts.

reportlab embeds TrueType outlines only: Noto CJK (CFF outlines) cannot be used, WenQuanYi Micro Hei
(Debian fonts-wqy-microhei) can. CITYLOOP_ASSESSMENT_FONT names another .ttf/.ttc."""

from __future__ import annotations

import io
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from reportlab.graphics.charts.barcharts import HorizontalBarChart
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from cityloop.assessment.report import PRINT_COLUMNS as COLUMNS, cell, font_candidates, shown



class FontMissing(RuntimeError):
    """No Chinese TrueType font that reportlab can embed."""

    zh = "没有可嵌入 PDF 的中文 TrueType 字体：请安装 fonts-wqy-microhei（apt-get install fonts-wqy-microhei），或设置 CITYLOOP_ASSESSMENT_FONT"
    en = ("No Chinese TrueType font reportlab can embed: install fonts-wqy-microhei "
          "(apt-get install fonts-wqy-microhei) or set CITYLOOP_ASSESSMENT_FONT")


@lru_cache(maxsize=4)
def cjk_font(configured: Path | None = None) -> str:
    """Register and return the name of a CJK TrueType font, or raise FontMissing."""
    for path in font_candidates(configured):
        try:
            font = TTFont("CityLoopCJK", str(path), subfontIndex=0)
        except Exception:  # noqa: BLE001 - CFF outlines, broken files: try the next one
            continue
        if ord("中") in font.face.charToGlyph:
            pdfmetrics.registerFont(font)
            return "CityLoopCJK"
    raise FontMissing(FontMissing.en)


def _table(rows: list[list[str]], font: str, widths: Sequence[float]) -> Table:
    table = Table(rows, colWidths=widths, repeatRows=1)
    table.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), font, 8.5), ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#DCE6F1")),
        ("GRID", (0, 0), (-1, -1), 0.3, colors.HexColor("#9AA5B1")), ("ALIGN", (2, 1), (-1, -1), "RIGHT"),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#F5F7FA")])]))
    return table


def _chart(rows: list[dict[str, Any]], font: str, width: float) -> Drawing:
    scored = [r for r in rows if r["score"] is not None][:20]
    height = 24 + 14 * len(scored)
    drawing = Drawing(width, height)
    chart = HorizontalBarChart()
    chart.x, chart.y, chart.width, chart.height = 150, 10, width - 190, height - 20
    chart.data = [[r["score"] for r in reversed(scored)]]
    chart.categoryAxis.categoryNames = [r["name"] for r in reversed(scored)]
    chart.categoryAxis.labels.fontName = chart.valueAxis.labels.fontName = font
    chart.categoryAxis.labels.fontSize = 8
    chart.valueAxis.valueMin, chart.valueAxis.valueMax, chart.valueAxis.valueStep = 0, 100, 20
    chart.bars[0].fillColor = colors.HexColor("#0B5CAD")
    chart.barLabelFormat, chart.barLabels.fontName, chart.barLabels.fontSize = "%.1f", font, 7
    drawing.add(chart)
    return drawing


def render(data: dict[str, Any], font_path: Path | None = None) -> bytes:
    """The monthly report as PDF bytes (A4 landscape)."""
    font = cjk_font(font_path)
    title = ParagraphStyle("t", fontName=font, fontSize=18, leading=24, spaceAfter=6)
    h2 = ParagraphStyle("h", fontName=font, fontSize=13, leading=18, spaceBefore=8, spaceAfter=4)
    body = ParagraphStyle("b", fontName=font, fontSize=9.5, leading=14)
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=landscape(A4), leftMargin=14 * mm, rightMargin=14 * mm,
                            topMargin=12 * mm, bottomMargin=12 * mm, title=f"{data['label']}综合评价月报")
    source = f"已发布（{data['published_at'][:10]}）" if data["source"] == "published" else "实时计算，尚未正式发布"
    story = [Paragraph(f"{data['label']}数字城管综合评价月报", title),
             Paragraph(f"数据：{source}　生成时间：{data['generated_at']:%Y-%m-%d %H:%M}", body), Spacer(1, 6)]
    pairs = data["summary"] + [(n, shown("x_rate", v)) for n, v in data["summary_rates"]]
    half = (len(pairs) + 1) // 2
    grid = [[a[0], str(a[1]), *(b if b else ("", ""))] for a, b in zip(pairs[:half], pairs[half:] + [None])]
    story += [_table([["指标", "数值", "指标", "数值"]] + grid, font, [120, 70, 120, 70]), Spacer(1, 8)]
    a = data["analysis"]
    story += [Paragraph("高发问题与案件来源", h2),
              _table([["高发问题", "案件数"]] + [[c["category_name"], str(c["cases"])] for c in a["top_categories"]],
                     font, [200, 60]), Spacer(1, 4),
              _table([["来源", "案件数", "占比"]] + [[s["name"], str(s["cases"]), shown("x_rate", s["share"])]
                                                 for s in a["sources"]], font, [120, 60, 60])]
    widths = [34, 150, 40, 32, 48, 52, 40, 56, 60, 50, 50, 50]
    for name, rows in data["groups"] + [("街道/乡镇", data["streets"])]:
        story += [PageBreak(), Paragraph(f"{data['label']} {name}综合评价排名", h2),
                  _table([[h for _, h in COLUMNS]] + [[shown(k, cell(r, k)) for k, _ in COLUMNS] for r in rows],
                         font, widths), Spacer(1, 8)]
        if any(r["score"] is not None for r in rows):
            story.append(_chart(rows, font, doc.width))
    doc.build(story)
    return out.getvalue()
