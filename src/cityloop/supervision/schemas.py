"""督办单 and 协办 API shapes; times in Asia/Shanghai."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from cityloop.cases.api import LocalTimes


class SupervisionOut(LocalTimes):
    """督办单."""

    id: int
    case_id: int
    case_number: str
    department_code: str | None
    department_name: str | None = None
    text: str
    issued_at: datetime
    due_at: datetime
    repeat: int
    status: str
    status_name: str
    reply: str | None
    replied_at: datetime | None
    checked_at: datetime | None
    check_note: str | None
    overdue: bool


class AssistOut(LocalTimes):
    """协办任务."""

    id: int
    case_id: int
    case_number: str
    department_code: str | None
    department_name: str | None = None
    lead_department_code: str | None
    task: str
    created_at: datetime
    due_at: datetime
    status: str
    status_name: str
    result: str | None
    done_at: datetime | None
    on_time: bool | None
    overdue: bool


class FiguresOut(BaseModel):
    """One department's 协办 and 督办单 figures over a period (deployment figures, docs/assessment.md)."""

    department_code: str | None
    assist_due: int
    assist_done: int
    assist_on_time: int
    assist_unfinished: int
    assist_on_time_rate: float | None
    supervisions: int
    supervisions_unanswered: int
    supervisions_repeated: int
    supervision_unanswered_rate: float | None
