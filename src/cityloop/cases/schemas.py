"""Case API shapes; times are shown in Asia/Shanghai."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_serializer
from cityloop.sla.domain import Light
from cityloop.shared.fields import Flag

SHANGHAI = ZoneInfo("Asia/Shanghai")
CoordSys = Literal["wgs84", "cgcs2000", "gcj02", "bd09"]
ReportSource = Literal["inspector", "public", "hotline", "video", "sensor", "fleet", "assigned", "open311"]  # domain.Source


def _local(value: datetime | None) -> str | None:
    return value.astimezone(SHANGHAI).isoformat() if value else None


class LocalTimes(BaseModel):
    """Serialises every datetime field in Asia/Shanghai local time with its offset."""

    # A lambda, not a def: pydantic would take a def's return annotation for the JSON schema of every field.
    _times = field_serializer("*", when_used="json")(
        lambda self, value: _local(value) if isinstance(value, datetime) else value)


class ReportIn(BaseModel):
    """上报 / A new report."""

    model_config = ConfigDict(extra="forbid")

    category_code: str = Field(..., min_length=1, max_length=8, description="事项代码, e.g. 06010 暴露垃圾")
    lon: float = Field(..., ge=-180, le=180)
    lat: float = Field(..., ge=-90, le=90)
    description: str = Field(..., min_length=1, max_length=4000)
    address: str | None = Field(None, max_length=256)
    coord_sys: CoordSys = "wgs84"
    component_id: str | None = Field(None, min_length=16, max_length=17)
    source: ReportSource | None = None
    self_handled: Flag = False
    reporter_name: str | None = Field(None, max_length=100)
    reporter_phone: str | None = Field(None, max_length=32)


class HelperIn(BaseModel):
    """协办: a helper department's part of a dispatched case."""

    model_config = ConfigDict(extra="forbid")

    department_code: str = Field(..., min_length=1, max_length=32)
    task: str = Field(..., min_length=1, max_length=2000, description="协办任务")
    limit: str | None = Field(None, max_length=8, description="时限, e.g. 4h, 2d (默认 1d)")


class ActionIn(BaseModel):
    """Optional body of an action; which fields matter depends on the action."""

    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(None, max_length=2000, description="意见/说明")
    condition_code: str | None = Field(None, max_length=16, description="file: 立案条件代码")
    category_code: str | None = Field(None, max_length=8, description="file: 更正事项代码")
    department_code: str | None = Field(None, max_length=32, description="dispatch: 处置部门")
    save_rule_level: Literal["grid", "community", "street", "district"] | None = Field(
        None, description="dispatch: 将确权结果保存为该层级的路由规则")
    target_case: str | None = Field(None, max_length=24, description="merge: 重复于哪个案件 (id 或编号)")
    inspector: str | None = Field(None, max_length=64, description="reassign: 监督员用户名")
    extension: str | None = Field(None, max_length=8, description="request_extension: 延期时长, e.g. 4h, 2d")
    result: str | None = Field(None, max_length=2000, description="handle: 处置结果")
    urgent: Flag | None = Field(None, description="file: 按紧急处理 (连续计时)，覆盖立案条件的设定")
    rating: Literal["满意", "基本满意", "不满意"] | None = Field(None, description="rate, close (回访): 满意度")
    callback: str | None = Field(None, max_length=500, description="close: 回访情况 (the return call's outcome)")
    close_type: Literal["special"] | None = Field(None, description="close: 特殊结案 (原因写在 note)")
    helpers: list[HelperIn] | None = Field(None, max_length=10, description="dispatch: 协办部门及其任务")
    reply_within: str | None = Field(None, max_length=8, description="supervise: 督办单回复时限, e.g. 4h, 1d")
    supervision_id: int | None = Field(None, ge=1, le=2**31 - 1, description="supervise_reply/close/return: 督办单")


class CaseOut(LocalTimes):
    id: int
    number: str
    stage: str
    stage_name: str
    source: str
    category_code: str
    category_name: str
    condition_code: str | None = None
    urgent: bool
    component_id: str | None = None
    description: str
    address: str | None = None
    lon: float
    lat: float
    grid_code: str
    duty_grid_code: str | None = None
    community_code: str
    street_code: str
    district_code: str
    handling_district: str | None = Field(None, description="办理层级：区县分中心代码；空 = 市级中心 / the district "
                                                           "center handling it (city mode); null = the city center")
    department_code: str | None = None
    department_name: str | None = None
    suggested_department_code: str | None = None
    suggested_department_name: str | None = None
    routing_reason: str | None = None
    needs_ownership: bool
    node: str | None = None
    node_started_at: datetime | None = None
    node_due_at: datetime | None = None
    elapsed: float | None = Field(None, description="已用时限比例 / share of the node limit used")
    light: Light | None = None
    minutes_left: int | None = Field(None, description="距截止分钟数，超时为负 / minutes to the node's deadline, "
                                                       "negative once overdue")
    overdue: bool
    pending_request: str | None = None
    self_handled: bool
    merged_into: str | None = None
    rework_count: int
    return_count: int
    extension_count: int
    suspension_count: int
    wrong_dispatch_count: int
    supervise_count: int
    send_back_count: int = 0
    close_type: str | None = None
    close_type_name: str | None = None
    reporter_name: str | None = None  # the caller's name: in a case's detail, for citywide staff only
    reporter_phone: str | None = None
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None = None
    actions: list[str] = Field(default_factory=list, description="当前用户可执行的操作")
    photos: list[int] = Field(default_factory=list)


class EventOut(LocalTimes):
    seq: int
    action: str
    action_name: str
    actor: str
    actor_role: str
    at: datetime
    from_stage: str | None
    to_stage: str
    payload: dict[str, Any]


class TaskOut(LocalTimes):
    kind: str
    kind_name: str
    case_id: int
    case_number: str
    stage: str
    category_name: str
    address: str | None
    node: str | None
    due_at: datetime | None
    light: str | None
    task_id: int | None = None
    description: str = ""
    lon: float | None = None
    lat: float | None = None
    photos: list[int] = []  # the reporter's photos (ids for /api/v1/photos/{id} and …/thumb)


class CasePage(BaseModel):
    items: list[CaseOut]
    total: int = Field(description="符合条件的案件数；total_is_estimate 时为下限 / matches; a lower bound when "
                                   "total_is_estimate")
    page: int
    size: int
    total_is_estimate: bool = Field(False, description="超过计数上限（如 10000+），total 为下限 / more matches than "
                                                       "were counted: total is a lower bound (\"10000+\")")


class NodeOut(LocalTimes):
    node: str
    node_name: str
    started_at: datetime
    due_at: datetime
    limit_minutes: int
    urgent: bool
    extended_minutes: int
    ended_at: datetime | None
    on_time: bool | None
    overdue_marked: bool


class CheckOut(BaseModel):
    """预检结果 / What a report would become: located, categorised, verified or not."""

    category_code: str
    category_name: str
    source: str
    lon: float
    lat: float
    grid_code: str
    duty_grid_code: str | None
    community_code: str
    street_code: str
    district_code: str
    needs_verification: bool
