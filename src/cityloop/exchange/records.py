"""County side: records other than case events put into the outbox — the month's own figures (综合评价数据),
component census changes (基础数据) and sensor alarm summaries (运行数据)."""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.cases.api import Case
from cityloop.config import Settings, get_settings
from cityloop.exchange.case_hooks import outbox_turn, platform_code
from cityloop.exchange.domain import PROTOCOL_VERSION
from cityloop.exchange.models import OutboxRow
from cityloop.exchange.ranking import bounds, figures

if TYPE_CHECKING:
    from cityloop.catalog.models import Component
    from cityloop.sensors.models import Alarm


def queue_month(session: Session, settings: Settings, month: str, now: datetime) -> dict[str, Any]:
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
    outbox_turn(session)
    session.add(OutboxRow(event_id=event_id, kind="assessment.monthly", body=body, created_at=now))
    session.commit()
    return data


def _upstream_platform() -> str | None:
    """This platform's code when an upper platform is configured (the process settings, as the case hook)."""
    try:
        settings = get_settings()
    except ValueError:
        return None
    return platform_code(settings) if settings.exchange_upstream_url else None


def _queue(session: Session, platform: str, kind: str, key: str, letter: str, data: dict[str, Any], at: datetime) -> None:
    event_id = f"{platform}:{letter}:{secrets.token_hex(6)}:{key}"[:64]
    body = {"v": PROTOCOL_VERSION, "kind": kind, "event_id": event_id, "key": key, "at": at.isoformat(),
            "data": data}
    outbox_turn(session)
    session.add(OutboxRow(event_id=event_id, kind=kind, body=body, created_at=at))


def on_component_changes(session: Session, changes: Sequence[tuple[str, Component]], codes: dict[int, str],
                         at: datetime) -> None:
    """部件普查: queue a component.change for each (op, Component) created or changed (never commits).
    `codes` maps department ids to codes."""
    platform = _upstream_platform()
    if platform is None:
        return
    from cityloop.catalog.models import Category

    types = dict(session.execute(select(Category.id, Category.code).where(
        Category.id.in_({c.category_id for _, c in changes}))).all()) if changes else {}

    def code(department_id: int | None) -> str | None:
        return codes.get(department_id) if department_id is not None else None

    for op, c in changes:
        data = {"op": op, "id": c.id, "type_code": types.get(c.category_id), "name": c.name, "state": c.state,
                "grid_code": c.grid_code, "lon": c.lon, "lat": c.lat,
                "competent": code(c.competent_department_id), "owner": code(c.owner_department_id),
                "maintainer": code(c.maintainer_department_id),
                "initial_date": c.initial_date.isoformat() if c.initial_date else None,
                "change_date": c.change_date.isoformat() if c.change_date else None,
                "data_source": c.data_source, "note": (c.note or None) and c.note[:500]}
        _queue(session, platform, "component.change", c.id, "k", data, at)


def on_alarm_event(session: Session, alarm: Alarm, change: str, at: datetime) -> None:
    """运行监测: queue an alarm.summary with the alarm's state after this change (never commits)."""
    platform = _upstream_platform()
    if platform is None:
        return
    from cityloop.sensors.models import Device

    dev = session.get(Device, alarm.device_id)
    assert dev is not None  # an alarm's device is never deleted under it
    number = session.scalar(select(Case.number).where(Case.id == alarm.case_id)) if alarm.case_id else None
    data = {"change": change, "device": dev.code, "device_type": dev.type, "device_name": dev.name,
            "component_id": dev.component_id, "grid_code": dev.grid_code, "lon": dev.lon, "lat": dev.lat,
            "rule": alarm.rule_code, "level": alarm.level, "state": alarm.state, "value": alarm.value,
            "peak_value": alarm.peak_value, "raised_at": alarm.raised_at.isoformat(),
            "acknowledged_at": alarm.acknowledged_at.isoformat() if alarm.acknowledged_at else None,
            "cleared_at": alarm.cleared_at.isoformat() if alarm.cleared_at else None, "case_number": number}
    _queue(session, platform, "alarm.summary", f"{dev.code}:{alarm.id}"[:64], "a", data, at)
