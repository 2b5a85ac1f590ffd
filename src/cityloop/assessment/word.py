"""The monthly 通报 as a Word document (python-docx): the same data as the Excel and PDF forms, written as a
bulletin a command center circulates, with a score chart per ranking (drawn with Pillow and embedded as PNG)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Cm, Pt
from PIL import Image, ImageDraw, ImageFont

from cityloop.assessment.report import PRINT_COLUMNS, cell, font_candidates, shown

if TYPE_CHECKING:
    from docx.document import Document as DocumentObject
    from docx.text.paragraph import Paragraph

BODY_FONT = "宋体"
TITLE_FONT = "黑体"
BAR = (11, 92, 173)


class ChartFontMissing(RuntimeError):
    """No Chinese font for the chart labels."""


def render(data: dict[str, Any], font_path: Path | None = None) -> bytes:
    """The monthly 通报 as .docx bytes (A4 landscape)."""
    font = _chart_font(font_path)
    doc = Document()
    section = doc.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Cm(29.7), Cm(21.0)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Cm(1.8))
    _style(doc)
    title = doc.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _run(title, f"关于{data['label']}数字城管综合评价情况的通报", TITLE_FONT, 20, bold=True)
    source = f"已发布（{data['published_at'][:10]}）" if data["source"] == "published" else "实时计算，尚未正式发布"
    doc.add_paragraph(f"数据：{source}　生成时间：{data['generated_at']:%Y-%m-%d %H:%M}")
    doc.add_paragraph(_overview(data))
    _heading(doc, "一、总体情况")
    pairs = data["summary"] + [(n, shown("x_rate", v)) for n, v in data["summary_rates"]]
    _table(doc, ["指标", "数值"], [[name, str(value)] for name, value in pairs])
    _heading(doc, "二、高发问题与案件来源")
    a = data["analysis"]
    _table(doc, ["高发问题", "案件数"], [[c["category_name"], str(c["cases"])] for c in a["top_categories"]])
    doc.add_paragraph()
    _table(doc, ["来源", "案件数", "占比"], [[s["name"], str(s["cases"]), shown("x_rate", s["share"])]
                                        for s in a["sources"]])
    numerals = "三四五六七八九十"
    for i, (name, rows) in enumerate(data["groups"] + [("街道/乡镇", data["streets"])]):
        _heading(doc, f"{numerals[i] if i < len(numerals) else i + 3}、{name}综合评价排名")
        _table(doc, [h for _, h in PRINT_COLUMNS], [[shown(k, cell(r, k)) for k, _ in PRINT_COLUMNS] for r in rows])
        chart = score_chart(rows, font)
        if chart is not None:
            doc.add_picture(io.BytesIO(chart), width=Cm(22))
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def _overview(data: dict[str, Any]) -> str:
    """The bulletin's opening sentence from the month's totals."""
    totals = dict(data["summary"])
    rates = dict(data["summary_rates"])
    parts = [f"{data['label']}，数字城管平台共受理上报问题 {totals.get('上报数', 0)} 件"]
    if "立案数" in totals:
        parts.append(f"立案 {totals['立案数']} 件")
    if "结案数" in totals:
        parts.append(f"结案 {totals['结案数']} 件")
    if rates.get("结案率") is not None:
        parts.append(f"结案率 {shown('x_rate', rates['结案率'])}")
    return "，".join(parts) + "。现将各单位综合评价情况通报如下。"


def _style(doc: DocumentObject) -> None:
    normal = doc.styles["Normal"]
    normal.font.name, normal.font.size = BODY_FONT, Pt(10.5)
    normal.element.rPr.rFonts.set(qn("w:eastAsia"), BODY_FONT)  # Word picks East Asian text's font from here


def _run(paragraph: Paragraph, text: str, font: str, size: float, bold: bool = False) -> None:
    run = paragraph.add_run(text)
    run.font.name, run.font.size, run.bold = font, Pt(size), bold
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), font)


def _heading(doc: DocumentObject, text: str) -> None:
    _run(doc.add_paragraph(), text, TITLE_FONT, 14, bold=True)


def _table(doc: DocumentObject, headers: list[str], rows: list[list[str]]) -> None:
    table = doc.add_table(rows=1, cols=len(headers))
    table.style = "Table Grid"
    for cell_, text in zip(table.rows[0].cells, headers):
        cell_.text = ""
        _run(cell_.paragraphs[0], text, TITLE_FONT, 9, bold=True)
    for values in rows:
        for cell_, text in zip(table.add_row().cells, values):
            cell_.text = text


def _chart_font(configured: Path | None) -> Path:
    for path in font_candidates(configured):
        try:
            ImageFont.truetype(str(path), 14)
            return path
        except OSError:
            continue
    raise ChartFontMissing("no Chinese font for the charts (install fonts-wqy-microhei or set CITYLOOP_ASSESSMENT_FONT)")


def score_chart(rows: list[dict[str, Any]], font_path: Path) -> bytes | None:
    """A horizontal bar chart of the first 20 scores as PNG (None when nobody has a score)."""
    scored = [r for r in rows if r["score"] is not None][:20]
    if not scored:
        return None
    font = ImageFont.truetype(str(font_path), 22)
    label_w, bar_w, row_h, top = 320, 900, 40, 20
    image = Image.new("RGB", (label_w + bar_w + 120, top * 2 + row_h * len(scored)), "white")
    draw = ImageDraw.Draw(image)
    for i, row in enumerate(scored):
        y = top + i * row_h
        name = row["name"] if len(row["name"]) <= 12 else row["name"][:11] + "…"
        draw.text((label_w - 12, y + row_h / 2), name, fill="black", font=font, anchor="rm")
        length = bar_w * max(0.0, min(row["score"], 100.0)) / 100
        draw.rectangle([label_w, y + 6, label_w + length, y + row_h - 6], fill=BAR)
        draw.text((label_w + length + 8, y + row_h / 2), f"{row['score']:.1f}", fill="black", font=font, anchor="lm")
    draw.line([label_w, top, label_w, top + row_h * len(scored)], fill="gray", width=2)
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()
