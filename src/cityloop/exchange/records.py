"""County side: records other than case events put into the outbox — the month's own figures (综合评价 data)."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.cases.models import Case
from cityloop.exchange.case_hooks import platform_code
from cityloop.exchange.domain import PROTOCOL_VERSION
from cityloop.exchange.models import OutboxRow
from cityloop.exchange.ranking import bounds, figures


def queue_month(session: Session, settings, month: str, now: datetime) -> dict:
    """Count the month's cases like the city does and queue an assessment.monthly record (the newest wins)."""
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month):
        raise ValueError("月份应为 YYYY-MM / the month must be YYYY-MM")
    start, end = bounds(month, settings.timezone)
    cases = list(session.scalars(select(Case).where(Case.created_at >= start, Case.created_at < end)))
    data = figures(cases)
    platform = platform_code(settings)
    event_id = f"{platform}:m:{month}:{int(now.timestamp())}"
    body = {"v": PROTOCOL_VERSION, "kind": "assessment.monthly", "event_id": event_id, "key": month,
            "at": now.isoformat(), "data": data}
    session.add(OutboxRow(event_id=event_id, kind="assessment.monthly", body=body, created_at=now))
    session.commit()
    return data
