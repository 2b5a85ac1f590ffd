"""Fleet API shapes; times are shown in Asia/Shanghai like the rest of the API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from cityloop.cases.api import LocalTimes
from cityloop.fleet.world import parse_hours
from cityloop.shared.fields import NOT_FLAG, Day, Flag, Instant, Int, Num

Lon = Field(..., ge=-180, le=180)
Lat = Field(..., ge=-90, le=90)
Hours: list[str] = Field(default_factory=list, max_length=6, description='时段, e.g. ["22:00-06:00"]；空 = 全天')


def _hours(value: list[str]) -> list[str]:
    try:
        parse_hours(value)
    except ValueError as exc:
        raise ValueError(f"时段格式应为 HH:MM-HH:MM / hours must look like 22:00-06:00 ({exc})") from exc
    return value


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CompanyIn(Strict):
    name: str = Field(..., min_length=1, max_length=100)
    credit_code: str = Field(..., pattern=r"^[0-9A-HJ-NPQRTUWXY]{18}$", description="统一社会信用代码")
    contact_name: str | None = Field(None, max_length=50)
    contact_phone: str | None = Field(None, max_length=32)
    address: str | None = Field(None, max_length=200)


class CompanyOut(BaseModel):
    id: int
    name: str
    credit_code: str
    contact_name: str | None
    contact_phone: str | None
    address: str | None
    active: bool
    vehicles: int = 0
    score: int = 100
    blacklisted: bool = False


class CompanyUserIn(Strict):
    username: str = Field(..., min_length=2, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    password: str = Field(..., min_length=6, max_length=128)
    display_name: str | None = Field(None, max_length=100)


class VehicleIn(Strict):
    company_id: Int = Field(..., ge=1, le=2**31 - 1)
    plate: str = Field(..., min_length=2, max_length=16)
    plate_color: Int = Field(2, ge=0, le=9, description="JT/T 808 车牌颜色: 1 蓝 2 黄 3 黑 4 白 5 绿 9 其他")
    load_type: str = Field("渣土", min_length=1, max_length=16)
    sealed: Flag = True
    load_sensor: Flag = True
    terminal_id: str | None = Field(None, max_length=30)
    terminal_phone: str = Field(..., pattern=r"^[0-9]{1,20}$", description="终端手机号/SIM 卡号")
    coord_sys: Literal["wgs84", "gcj02"] = "wgs84"


class VehicleOut(LocalTimes):
    id: int
    company_id: int
    company_name: str
    plate: str
    plate_color: int
    load_type: str
    sealed: bool
    load_sensor: bool
    terminal_id: str | None
    terminal_phone: str
    coord_sys: str
    active: bool
    last_at: datetime | None = None
    last_lon: float | None = None
    last_lat: float | None = None
    last_speed: float | None = None


class DriverIn(Strict):
    company_id: Int = Field(..., ge=1, le=2**31 - 1)
    name: str = Field(..., min_length=1, max_length=50)
    phone: str | None = Field(None, max_length=32)
    license_no: str | None = Field(None, max_length=32)
    vehicle_id: Int | None = Field(None, ge=1, le=2**31 - 1)


class DriverOut(DriverIn):
    id: int


class SiteIn(Strict):
    kind: Literal["construction", "disposal", "depot"]
    name: str = Field(..., min_length=1, max_length=100)
    address: str | None = Field(None, max_length=200)
    company_id: Int | None = Field(None, ge=1, le=2**31 - 1)
    geometry: dict[str, Any] = Field(..., description="GeoJSON Polygon/MultiPolygon (WGS84)")


class SiteOut(BaseModel):
    id: int
    kind: str
    name: str
    address: str | None
    company_id: int | None
    geometry: dict[str, Any]


class ZoneIn(Strict):
    kind: Literal["restricted", "speed", "road"]
    name: str = Field(..., min_length=1, max_length=100)
    geometry: dict[str, Any] = Field(..., description="GeoJSON Polygon (restricted, speed) or LineString (road), WGS84")
    width_m: Num | None = Field(None, gt=0, le=500)
    speed_limit: Num | None = Field(None, gt=0, le=200)
    hours: list[str] = Hours

    _check_hours = field_validator("hours")(_hours)


class ZoneOut(BaseModel):
    id: int
    kind: str
    name: str
    geometry: dict[str, Any]
    width_m: float | None
    speed_limit: float | None
    hours: list[str]


class PermitIn(Strict):
    company_id: Int | None = Field(None, ge=1, le=2**31 - 1, description="企业用户可省略")
    vehicle_ids: list[Int] = Field(..., min_length=1, max_length=200)
    from_site_id: Int = Field(..., ge=1, le=2**31 - 1)
    to_site_id: Int = Field(..., ge=1, le=2**31 - 1)
    route: list[tuple[Num, Num]] = Field(..., min_length=2, max_length=500, description="[[lon, lat], …]")
    corridor_m: Num = Field(60, ge=10, le=500, description="核准路线走廊宽度（米）")
    valid_from: Day
    valid_to: Day
    hours: list[str] = Hours

    _check_hours = field_validator("hours")(_hours)

    @field_validator("route")
    @classmethod
    def _lonlat(cls, route: list[tuple[float, float]]) -> list[tuple[float, float]]:
        if any(not (-180 <= x <= 180 and -90 <= y <= 90) for x, y in route):
            raise ValueError("经纬度超出范围 / lon/lat out of range")
        return route

    @field_validator("vehicle_ids")
    @classmethod
    def _ids(cls, ids: list[int]) -> list[int]:
        if any(not 1 <= i <= 2**31 - 1 for i in ids):
            raise ValueError("bad vehicle id")
        return list(dict.fromkeys(ids))


class SiteRef(BaseModel):
    id: int
    name: str
    kind: str


class PermitOut(LocalTimes):
    id: int
    number: str | None
    company_id: int
    company_name: str
    vehicle_ids: list[int]
    plates: list[str]
    from_site: SiteRef
    to_site: SiteRef
    route: list[list[float]]
    corridor_m: float
    valid_from: date
    valid_to: date
    hours: list[str]
    status: str  # pending | approved | rejected | revoked | expired
    reason: str | None
    applied_at: datetime
    reviewed_at: datetime | None


class ReasonIn(Strict):
    reason: str | None = Field(None, max_length=2000)


class PositionIn(Strict):
    """One forwarded position; the vehicle by terminal phone or plate."""

    phone: str | None = Field(None, pattern=r"^[0-9]{1,20}$")
    plate: str | None = Field(None, max_length=16)
    time: Instant
    lon: Num = Lon
    lat: Num = Lat
    speed: Num = Field(0, ge=0, le=300, description="km/h")
    heading: Int = Field(0, ge=0, le=359)
    load: Annotated[Literal[0, 1, 3], NOT_FLAG] = Field(0, description="0 空载 1 半载 3 满载")
    coord_sys: Literal["wgs84", "gcj02"] | None = Field(None, description="默认按车辆设置")
    backfill: Flag = False


class PositionsIn(Strict):
    positions: list[PositionIn] = Field(..., min_length=1, max_length=5000)


class IngestOut(BaseModel):
    received: int
    stored: int
    unknown: int
    violations: list[int]


class AppealOut(LocalTimes):
    id: int
    violation_id: int
    text: str
    files: list[dict[str, Any]]
    submitted_at: datetime
    decision: str | None
    decision_note: str | None
    decided_at: datetime | None


class ViolationOut(LocalTimes):
    id: int
    kind: str
    kind_name: str
    vehicle_id: int
    plate: str
    company_id: int
    company_name: str
    permit_id: int | None
    started_at: datetime
    detected_at: datetime
    ended_at: datetime | None
    lon: float
    lat: float
    details: dict[str, Any]
    status: str  # open | appealed | upheld | cancelled
    appeal_due_at: datetime
    case_id: int | None
    case_number: str | None = None
    case_error: str | None
    appeal: AppealOut | None = None


class ViolationDetail(ViolationOut):
    evidence: dict[str, Any]


class AppealText(Strict):
    text: str = Field(..., min_length=1, max_length=2000)


class DecisionIn(Strict):
    decision: Literal["upheld", "cancelled"] = Field(..., description="upheld 维持违规 / cancelled 撤销违规")
    note: str | None = Field(None, max_length=2000)


class TrackOut(BaseModel):
    vehicle_id: int
    plate: str
    points: list[list[float]] = Field(..., description="[[unix_seconds, lon, lat, speed_kmh, heading], …]")
    raw_points: int
    violations: list[dict[str, Any]]
