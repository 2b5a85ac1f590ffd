"""API shapes of the intake channels (times are shown in Asia/Shanghai)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from cityloop.cases.api import CoordSys, LocalTimes
from cityloop.shared.fields import Flag, Instant, Num


class PublicReportIn(BaseModel):
    """拍一拍 / A citizen's report: a photo, where, what (a category or just words), optionally a phone number."""

    model_config = ConfigDict(extra="forbid")

    lon: float = Field(..., ge=-180, le=180)
    lat: float = Field(..., ge=-90, le=90)
    coord_sys: CoordSys = "wgs84"
    category_code: str | None = Field(None, min_length=1, max_length=8, description="事项代码（可不选，只写描述）")
    description: str = Field(..., min_length=2, max_length=1000)
    address: str | None = Field(None, max_length=200)
    phone: str | None = Field(None, max_length=20, description="联系电话（选填，仅工作人员可见）")
    website: str | None = Field(None, max_length=200, description="留空 / leave empty (spam trap)")


class PublicReportOut(BaseModel):
    tracking_code: str
    status_url: str
    stage_name: str
    category_name: str
    category_guessed: bool
    created: bool


class PublicStep(LocalTimes):
    at: datetime
    text: str


class PublicStatusOut(LocalTimes):
    """What anyone holding the tracking code may see."""

    tracking_code: str
    stage: str
    stage_name: str
    closed: bool
    category_name: str
    address: str | None
    reported_at: datetime
    steps: list[PublicStep]
    merged_into_parent: bool = False
    can_rate: bool
    rating: str | None = None


Rating = Literal["满意", "基本满意", "不满意"]


class RatingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rating: Rating


class VideoEventIn(BaseModel):
    """视频抓拍 / One event from the video analytics system (the snapshot comes as a file or base64)."""

    model_config = ConfigDict(extra="forbid")

    camera_id: str = Field(..., min_length=1, max_length=32)
    event_type: str = Field(..., min_length=1, max_length=32)
    confidence: float = Field(..., ge=0, le=1)
    captured_at: Instant
    event_id: str | None = Field(None, min_length=1, max_length=64, description="分析系统的事件编号（去重用）")
    description: str | None = Field(None, max_length=500)
    snapshot_base64: str | None = Field(None, max_length=28_000_000)  # a 20 MB image still reaches the 413


class VideoEventOut(BaseModel):
    case_id: int
    case_number: str
    created: bool
    repeat: bool
    needs_verification: bool


class AssignIn(BaseModel):
    """上级交办 / A case assigned by an upper-level platform or a leader, with the deadline it must meet."""

    model_config = ConfigDict(extra="forbid")

    category_code: str = Field(..., min_length=1, max_length=8)
    lon: Num | None = Field(None, ge=-180, le=180)
    lat: Num | None = Field(None, ge=-90, le=90)
    coord_sys: CoordSys = "wgs84"
    address: str | None = Field(None, max_length=200, description="无坐标时按地名定位 / geocoded when no point")
    description: str = Field(..., min_length=1, max_length=2000)
    required_due_at: Instant = Field(..., description="要求办结时间 / the deadline")
    assigned_by: str = Field(..., min_length=1, max_length=100, description="交办单位或领导")
    external_ref: str | None = Field(None, max_length=128, description="上级平台的编号（重复提交不重复立案）")


class AssignOut(BaseModel):
    case_id: int
    case_number: str
    tracking_code: str
    created: bool


class PingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lon: Num = Field(..., ge=-180, le=180)
    lat: Num = Field(..., ge=-90, le=90)
    accuracy_m: Num | None = Field(None, ge=0, le=100_000)
    at: Instant


class PingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    coord_sys: CoordSys = "wgs84"
    pings: list[PingIn] = Field(..., min_length=1, max_length=500)


class CameraIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(..., min_length=1, max_length=100)
    site: str | None = Field(None, max_length=100)
    lon: Num = Field(..., ge=-180, le=180)
    lat: Num = Field(..., ge=-90, le=90)
    coord_sys: CoordSys = "wgs84"
    active: Flag = True


class CameraOut(BaseModel):
    code: str
    name: str
    site: str | None
    lon: float
    lat: float
    grid_code: str
    duty_grid_code: str | None
    active: bool


class NearbyCase(LocalTimes):
    id: int
    number: str
    stage: str
    stage_name: str
    category_code: str
    category_name: str
    description: str
    address: str | None
    distance_m: float
    created_at: datetime


class CategorySuggestion(BaseModel):
    code: str
    name: str
    major_name: str
    reason: Literal["recent", "nearby", "catalog"]


class EvidenceOut(LocalTimes):
    photo_id: int
    event_seq: int
    exif_time: datetime | None
    exif_lon: float | None
    exif_lat: float | None
    distance_m: float | None
    gap_minutes: float | None
    phash: str | None
    flags: list[str]
    flag_names: list[str]
    matches: list[dict[str, Any]]


class PatrolOut(LocalTimes):
    username: str
    day: str
    pings: int
    track_km: float
    first_at: datetime | None
    last_at: datetime | None
    grids_total: int
    grids_visited: int
    coverage: float
    reported: int
    missed: int = Field(..., description="漏报：责任网格内由其他渠道发现的问题数")
    track: list[list[float]]
