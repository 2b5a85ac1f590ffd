"""Request and response bodies of the sensors API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from cityloop.shared.fields import Day, Num

MN_PATTERN = r"^[A-Za-z0-9_\-]{1,24}$"
PW_PATTERN = r"^[A-Za-z0-9_\-.@$%*+!~]{1,32}$"  # printable, none of HJ 212's separators ; , = & #


class DeviceIn(BaseModel):
    """登记设备 / Register a device."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
    name: str = Field(min_length=1, max_length=200)
    type: str = Field(description="waterlogging | manhole | dust | noise | weather")
    model: str | None = Field(None, max_length=100)
    lon: Num = Field(ge=-180, le=180)
    lat: Num = Field(ge=-90, le=90)
    address: str | None = Field(None, max_length=200)
    context: str | None = Field(None, description="square | underpass | road | construction | school | hospital | …")
    department: str | None = Field(None, max_length=32, description="responsible unit (department code)")
    installed_on: Day | None = None
    cover_type: str | None = Field(None, pattern=r"^\d{5}$", description="井盖 component type, e.g. 01003")
    component_id: str | None = Field(None, max_length=17)
    rule_overrides: dict[str, dict[str, Any]] | None = Field(
        None, description='{"water_depth": {"levels": [["blue", 10]]}}')
    hj212_mn: str | None = Field(None, pattern=MN_PATTERN, description="HJ 212 监测点编码 MN (up to 24 characters)")
    hj212_password: str | None = Field(None, pattern=PW_PATTERN, description="HJ 212 访问密码 PW")


class DevicePatch(BaseModel):
    """修改设备 / Change a device (only the fields given)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=200)
    model: str | None = Field(None, max_length=100)
    lon: Num | None = Field(None, ge=-180, le=180)
    lat: Num | None = Field(None, ge=-90, le=90)
    address: str | None = Field(None, max_length=200)
    context: str | None = None
    department: str | None = Field(None, max_length=32)
    installed_on: Day | None = None
    state: str | None = Field(None, description="active | maintenance | retired")
    cover_type: str | None = Field(None, pattern=r"^\d{5}$")
    component_id: str | None = Field(None, max_length=17)
    rule_overrides: dict[str, dict[str, Any]] | None = None
    hj212_mn: str | None = Field(None, pattern=MN_PATTERN)
    hj212_password: str | None = Field(None, pattern=PW_PATTERN)


class DeviceOut(BaseModel):
    code: str
    name: str
    type: str
    type_name: str
    model: str | None
    lon: float
    lat: float
    grid_code: str | None
    address: str | None
    context: str | None
    department: str | None
    department_name: str | None = None
    installed_on: date | None
    state: str
    status: str = Field(description="normal | alarm | offline | silent (never reported) | off (not active)")
    level: str | None = Field(description="the most severe open alarm's level")
    last_seen_at: datetime | None
    last_values: dict[str, Any] | None
    hj212_mn: str | None = Field(None, description="HJ 212 station MN (the password is never shown)")


class AlarmOut(BaseModel):
    id: int
    device: str
    device_name: str
    device_type: str
    rule: str
    rule_name: str
    level: str
    state: str
    value: float | None
    peak_value: float | None
    raised_at: datetime
    updated_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    cleared_at: datetime | None
    case_id: int | None
    case_number: str | None
    lon: float
    lat: float


class AlarmEventOut(BaseModel):
    at: datetime
    kind: str
    level: str | None
    value: float | None
    actor: str
    payload: dict[str, Any] | None


class AckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(None, max_length=500)


class WarningOut(BaseModel):
    id: int
    kind: str = Field(description="caution 谨慎通行 | closed 暂停通行")
    level: str
    title: str
    place: str
    lon: float
    lat: float
    depth_cm: float | None
    published_at: datetime
    updated_at: datetime
    lifted_at: datetime | None


class ReadingIn(BaseModel):
    """One reading (documentation of the telemetry body; the endpoint checks each reading itself)."""

    device_id: str
    ts: str | float = Field(description="ISO 8601 with time zone, or Unix seconds/milliseconds")
    values: dict[str, float | bool] = Field(description="depth_cm, tilt_deg, open, battery_pct, pm25, pm10, "
                                                        "leq_db, rain_mm_h")


class TelemetryIn(BaseModel):
    readings: list[ReadingIn]


class RejectOut(BaseModel):
    index: int = Field(description="position in the request's readings (-1: a duplicate within the batch)")
    device_id: str | None
    reason: str
    message: str
    detail: str


class TransitionOut(BaseModel):
    device_id: str
    rule: str
    kind: str
    level: str
    alarm_id: int
    case_id: int | None


class TelemetryOut(BaseModel):
    accepted: int
    stored: int
    rejected: list[RejectOut]
    alarms: list[TransitionOut]
