"""Shapes of the department app's API; times in Asia/Shanghai."""

from __future__ import annotations

from datetime import datetime

from cityloop.sla.domain import Light
from cityloop.cases.api import LocalTimes


class MyCaseOut(LocalTimes):
    """One case of the caller's department in the app's list."""

    id: int
    number: str
    stage: str
    stage_name: str
    category_name: str
    description: str
    address: str | None
    lon: float
    lat: float
    due_at: datetime | None
    elapsed: float | None
    light: Light | None
    overdue: bool
    time_text: str | None  # 剩余 2 小时 / 超时 3 天 5 小时 (in the caller's language)
    urgent: bool
    rework_count: int  # 返工
    supervise_count: int  # 督办
    pending_request: str | None


class RequestOut(LocalTimes):
    """A 延期/回退/挂账 request and the dispatcher's decision."""

    id: int
    case_id: int
    case_number: str
    kind: str
    kind_name: str
    reason: str
    extension_minutes: int | None
    status: str
    status_name: str
    created_at: datetime
    decided_at: datetime | None
    decision_note: str | None
