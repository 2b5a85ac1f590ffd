"""Excel export of a case search: names, not codes, under Chinese headers."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime, tzinfo
from io import BytesIO
from typing import Any

import csv
import io

from openpyxl import Workbook
from openpyxl.utils import get_column_letter
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.cases.domain import SOURCE_NAMES, STAGES
from cityloop.cases.models import Case
from cityloop.cases.queries import search
from cityloop.catalog.domain import matter_code
from cityloop.catalog.models import Category
from cityloop.org.actor import Actor
from cityloop.org.models import Department

HEADERS = ("案件编号", "问题类别", "阶段", "来源", "处置部门", "地址", "问题描述", "上报人", "上报时间",
           "当前环节截止", "是否超时", "结案时间", "事项代码")
WIDTHS = (20, 18, 10, 12, 18, 30, 40, 10, 17, 17, 8, 17)
MAX_ROWS = 20_000


def _local(value: datetime | None, tz: tzinfo) -> str:
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M") if value else ""


def rows(session: Session, actor: Actor, filters: Mapping[str, Any], now: datetime, tz: tzinfo
         ) -> Iterator[list[str]]:
    """The search result's rows under HEADERS (at most MAX_ROWS cases, newest first); 事项代码 is the case's
    district code + the matter's 5-digit type code (GB/T 47678.5 Table 3)."""
    cols = select(Case.number, Case.district_code, Case.category_code, Category.name, Case.stage, Case.source,
                  Department.name, Case.address, Case.description, Case.reporter_name, Case.created_at,
                  Case.node_due_at, Case.closed_at)\
        .select_from(Case).join(Category, Category.id == Case.category_id)\
        .outerjoin(Department, Department.id == Case.department_id)
    stmt = search(session, actor, filters, now, cols).order_by(Case.id.desc()).limit(MAX_ROWS)
    for (number, district, code, category, stage, source, dept, address, desc, reporter, created, due,
         closed) in session.execute(stmt):
        late = bool(due and now > due and stage != "suspended")
        yield [number, category, STAGES.get(stage, (stage,))[0], SOURCE_NAMES.get(source, (source,))[0],
               dept or "", address or "", desc, reporter or "", _local(created, tz), _local(due, tz),
               "是" if late else "否", _local(closed, tz), matter_code(district, code) or ""]


def csv_text(session: Session, actor: Actor, filters: Mapping[str, Any], now: datetime, tz: tzinfo
             ) -> tuple[str, int]:
    """The search result as CSV text (UTF-8 with BOM, so Excel reads the Chinese) and the number of rows."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(HEADERS)
    count = 0
    for row in rows(session, actor, filters, now, tz):
        writer.writerow(row)
        count += 1
    return out.getvalue(), count


def workbook(session: Session, actor: Actor, filters: Mapping[str, Any], now: datetime, tz: tzinfo
             ) -> tuple[bytes, int]:
    """The search result as an .xlsx file (at most MAX_ROWS cases, newest first) and the number of rows."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("案件查询")
    for i, width in enumerate(WIDTHS, 1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.append(HEADERS)
    count = 0
    for row in rows(session, actor, filters, now, tz):
        ws.append(row)
        count += 1
    out = BytesIO()
    wb.save(out)
    return out.getvalue(), count
