"""Exchange messages (protocol v1) and the API's shapes; docs/exchange.md maps each field to CJ/T 545."""

from __future__ import annotations

from typing import Any, Literal

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


class ComponentData(BaseModel):
    """基础数据 · 部件普查: one surveyed component instance after the change (`component.change` data)."""

    model_config = ConfigDict(extra="ignore", title="ComponentData")

    op: Literal["create", "update"] = Field(..., description="新增 / 变更")
    id: str = Field(..., pattern=r"^[0-9]{16,17}$", description="部件标识码 BJBSM")
    type_code: str = Field(..., min_length=1, max_length=8, description="部件类型代码 (CJ/T 214, GB/T 47678)")
    name: str = Field(..., min_length=1, max_length=30, description="部件名称")
    state: str = Field(..., min_length=1, max_length=10, description="部件状态：完好、破损、丢失、占用…")
    grid_code: str | None = Field(None, max_length=32, description="所在单元网格")
    lon: Num = Field(..., ge=-180, le=180)
    lat: Num = Field(..., ge=-90, le=90)
    competent: str | None = Field(None, max_length=32, description="主管部门代码")
    owner: str | None = Field(None, max_length=32, description="权属单位代码")
    maintainer: str | None = Field(None, max_length=32, description="养护单位代码")
    initial_date: str | None = Field(None, max_length=10, description="初始日期 YYYY-MM-DD")
    change_date: str | None = Field(None, max_length=10, description="变更日期 YYYY-MM-DD")
    data_source: str | None = Field(None, max_length=30, description="数据来源")
    note: str | None = Field(None, max_length=500)


class AlarmData(BaseModel):
    """运行数据 · 运行监测: one sensor alarm's state after a change (`alarm.summary` data)."""

    model_config = ConfigDict(extra="ignore", title="AlarmData")

    change: str = Field(..., min_length=1, max_length=16,
                        description="raise, escalate, acknowledge, clear, case, retrigger, warning, case_failed")
    device: str = Field(..., min_length=1, max_length=64, description="设备编号")
    device_type: str = Field(..., min_length=1, max_length=20, description="设备类型 (manhole_cover, waterlogging…)")
    device_name: str | None = Field(None, max_length=200)
    component_id: str | None = Field(None, max_length=17, description="所附部件标识码")
    grid_code: str | None = Field(None, max_length=32)
    lon: Num | None = Field(None, ge=-180, le=180)
    lat: Num | None = Field(None, ge=-90, le=90)
    rule: str = Field(..., min_length=1, max_length=32, description="报警规则代码")
    level: str = Field(..., min_length=1, max_length=8, description="报警级别 (blue, yellow, orange, red)")
    state: Literal["active", "acknowledged", "cleared"]
    value: Num | None = None
    peak_value: Num | None = None
    raised_at: Instant
    acknowledged_at: Instant | None = None
    cleared_at: Instant | None = None
    case_number: str | None = Field(None, max_length=32, description="立案的案件编号")


RECORD_DATA: dict[str, type[ComponentData] | type[AlarmData]] = {"component.change": ComponentData, "alarm.summary": AlarmData}
DATA_DOC: dict[str, Any] = {"description": "记录数据 / record data: assessment.monthly figures, ComponentData (component.change) "
                           "or AlarmData (alarm.summary)",
            "anyOf": [{"type": "object", "title": "MonthlyFigures"}, ComponentData.model_json_schema(),
                      AlarmData.model_json_schema()]}


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
    payload: dict[str, Any] = Field(default_factory=dict)
    photos: list[PhotoRef] = Field(default_factory=list, max_length=20)
    # records
    key: str | None = Field(None, max_length=64, description="记录键：月份 YYYY-MM、部件编号、设备编号")
    data: dict[str, Any] = Field(default_factory=dict, json_schema_extra=DATA_DOC)


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
    parked: list[dict[str, Any]]
    acked_through: int
    replay: bool = False
    assignments: list[dict[str, Any]] = Field(default_factory=list, description="下发的上级交办 / cases assigned down")


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
