"""Exchange messages (protocol v1) and the API's shapes; docs/exchange.md maps each field to CJ/T 545."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from cityloop.shared.fields import Instant, Num

Code = Field(..., min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.-]+$")


class CaseSnapshot(BaseModel):
    """管理数据: the county case's shape after the event."""

    model_config = ConfigDict(extra="ignore")

    id: int = Field(..., ge=1)
    number: str = Field(..., min_length=1, max_length=32)
    category_code: str = Field(..., min_length=1, max_length=8)
    source: str = Field(..., min_length=1, max_length=16)
    stage: str = Field(..., min_length=1, max_length=16)
    district_code: str | None = Field(None, max_length=12)
    street_code: str | None = Field(None, max_length=12)
    grid_code: str | None = Field(None, max_length=32)
    lon: Num | None = Field(None, ge=-180, le=180)
    lat: Num | None = Field(None, ge=-90, le=90)
    address: str | None = Field(None, max_length=256)
    description: str | None = Field(None, max_length=4000)
    urgent: bool | None = None
    node: str | None = Field(None, max_length=16)
    node_due_at: Instant | None = None
    required_due_at: Instant | None = None
    overdue: bool | None = None
    rework_count: int | None = Field(None, ge=0)
    created_at: Instant
    closed_at: Instant | None = None


class PhotoRef(BaseModel):
    sha256: str = Field(..., pattern=r"^[0-9a-f]{64}$")
    content_type: str | None = Field(None, max_length=64)


class EventIn(BaseModel):
    """One message of a batch: a case event, or a record (monthly figures, a component change, an alarm summary)."""

    model_config = ConfigDict(extra="forbid")

    v: Literal["1"] = "1"
    kind: Literal["case.event", "assessment.monthly", "component.change", "alarm.summary"]
    event_id: str = Field(..., min_length=1, max_length=64)
    created_at: Instant | None = Field(None, description="写入发件箱的时间 / when the county wrote it (lag)")
    # case.event
    case: CaseSnapshot | None = None
    seq: int | None = Field(None, ge=1)
    prev_seq: int | None = Field(None, ge=1)
    action: str | None = Field(None, max_length=32)
    actor_role: str | None = Field(None, max_length=16)
    at: Instant
    from_stage: str | None = Field(None, max_length=16)
    to_stage: str | None = Field(None, max_length=16)
    payload: dict = Field(default_factory=dict)
    photos: list[PhotoRef] = Field(default_factory=list, max_length=20)
    # records
    key: str | None = Field(None, max_length=64, description="记录键：月份 YYYY-MM、部件编号、设备编号")
    data: dict = Field(default_factory=dict)


class BatchIn(BaseModel):
    """A signed batch: the county's messages in outbox order."""

    model_config = ConfigDict(extra="forbid")

    v: Literal["1"] = "1"
    platform: str = Code
    batch_id: str = Field(..., min_length=1, max_length=64, description="首条-末条发件箱编号 / first-last outbox id")
    first_id: int = Field(..., ge=0)
    last_id: int = Field(..., ge=0)
    sent_at: Instant
    events: list[EventIn] = Field(default_factory=list, max_length=5000)


class BatchOut(BaseModel):
    batch_id: str
    applied: int
    duplicates: int
    parked: list[dict]
    acked_through: int
    replay: bool = False
    assignments: list[dict] = Field(default_factory=list, description="下发的上级交办 / cases assigned down")


class AssignmentIn(BaseModel):
    """上级交办 down to a county platform."""

    model_config = ConfigDict(extra="forbid")

    platform: str = Code
    category_code: str = Field(..., min_length=1, max_length=8)
    lon: Num | None = Field(None, ge=-180, le=180)
    lat: Num | None = Field(None, ge=-90, le=90)
    address: str | None = Field(None, max_length=200)
    description: str = Field(..., min_length=1, max_length=2000)
    required_due_at: Instant
    ref: str | None = Field(None, max_length=48, pattern=r"^[A-Za-z0-9_.:-]+$")


class AssignmentOut(BaseModel):
    ref: str
    platform: str
    created_at: Instant
    delivered_at: Instant | None = None
    accepted_at: Instant | None = None
    case_number: str | None = None
    stage: str | None = None
