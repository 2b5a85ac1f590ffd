"""12345 工单 API shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from cityloop.cases.api import CoordSys, LocalTimes


WebhookStatus = Literal["case", "parked", "returned"]


class WebhookOut(BaseModel):
    """What the platform hears back from the webhook."""

    workorder_no: str
    status: WebhookStatus
    case_number: str | None = None
    reason: str | None = Field(None, description="why parked (待处理原因代码)")
    reason_text: str | None = None
    duplicate: bool = Field(False, description="a replay: the 工单 was received before, nothing was added")


class WorkOrderOut(LocalTimes):
    id: int
    external_no: str
    status: str
    reason: str | None
    reason_text: str | None
    return_reason: str | None
    fields: dict[str, Any]
    deadline: datetime | None
    case_id: int | None
    case_number: str | None
    received_at: datetime
    decided_at: datetime | None
    decided_by: str | None


class MessageOut(LocalTimes):
    id: int
    kind: str
    dedupe_key: str
    body: dict[str, Any]
    created_at: datetime
    attempts: int
    next_attempt_at: datetime
    sent_at: datetime | None
    last_error: str | None


class AcceptIn(BaseModel):
    """An operator's fix of a parked 工单: a category, an address to geocode, or a point."""

    model_config = ConfigDict(extra="forbid")

    category_code: str | None = Field(None, min_length=1, max_length=8, description="事项代码")
    address: str | None = Field(None, min_length=1, max_length=256, description="更正的地址（重新定位）")
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)
    coord_sys: CoordSys = "wgs84"


class ReturnIn(BaseModel):
    """退单: why the 工单 is not ours."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(..., min_length=1, max_length=500, description="退单原因")


class CallbackIn(BaseModel):
    """回访: the return call's outcome and the caller's satisfaction."""

    model_config = ConfigDict(extra="forbid")

    result: str = Field("", max_length=500, description="回访情况")
    rating: Literal["满意", "基本满意", "不满意"] = Field(..., description="满意度")
