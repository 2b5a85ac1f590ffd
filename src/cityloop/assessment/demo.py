"""Demo data: the projection of the generated history, and last month published so the public page has a
frozen ranking to show."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from cityloop.assessment import projection, service
from cityloop.assessment.periods import last_month
from cityloop.config import Settings


def build(session: Session, settings: Settings, now: datetime) -> None:
    """Derive every case's counters and publish last month."""
    projection.refresh(session, settings, now, rebuild=True)
    month = last_month(now.astimezone(ZoneInfo(settings.timezone)).date())
    if service.published(session, month) is None and service.checksum(session, settings, month)[1]:
        service.publish(session, settings, month, now, "系统（演示数据）", note="演示：上月考核结果")
