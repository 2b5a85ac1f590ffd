"""Excel export of a campaign's progress report."""

from __future__ import annotations

from io import BytesIO

from openpyxl import Workbook

from cityloop.campaigns.schemas import ProgressOut

HEADERS = ("责任网格", "已核查项", "应核查项", "完成率", "发现案件", "已结案")


def workbook(p: ProgressOut) -> bytes:
    """One sheet: the campaign's header lines, then a row per duty grid and the total."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("专项普查进度")
    c = p.campaign
    ws.append(["专项普查", c.name])
    ws.append(["主题", c.theme_name])
    ws.append(["事项", "、".join(c.categories)])
    ws.append(["时间", f"{c.starts_at:%Y-%m-%d %H:%M} — {c.ends_at:%Y-%m-%d %H:%M} (UTC)"])
    ws.append([])
    ws.append(HEADERS)
    for r in [*p.grids, p.overall]:
        ws.append(["合计" if r.grid == "*" else r.grid, r.items_done, r.items_total, f"{r.done_ratio:.0%}",
                   r.cases_found, r.cases_closed])
    out = BytesIO()
    wb.save(out)
    return out.getvalue()
