"""Request and response bodies of the public services API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator

from cityloop.public import domain
from cityloop.shared.fields import MAX_ID, Flag, Int, Num

Kind = Literal["toilet", "water", "red_station", "convenience", "transit", "food", "lodging", "shopping", "medical",
               "bench", "bin"]  # domain.KINDS, in its order
State = Literal["active", "repair", "closed"]  # domain.STATES
if get_args(Kind) != tuple(domain.KINDS) or get_args(State) != tuple(domain.STATES):
    raise RuntimeError("schemas.Kind and schemas.State must list domain.KINDS and domain.STATES")
ServiceKind = Literal["directions", "lost_found", "lost_person", "escort_hospital", "thanks", "other"]
SERVICE_KINDS = {"directions": ("指路", "Directions"), "lost_found": ("失物招领", "Lost and found"),
                 "lost_person": ("寻人（走失儿童、老人）", "Lost person found"),
                 "escort_hospital": ("护送就医", "Escort to hospital"), "thanks": ("感谢信、锦旗", "Thanks received"),
                 "other": ("其他便民服务", "Other help")}
NO_NUL = r"^[^\x00]*$"  # for query strings


class In(BaseModel):
    """A request body: unknown fields refused, no NUL characters (PostgreSQL text cannot hold them)."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        items = value if isinstance(value, list) else [value]
        if any(isinstance(v, str) and "\x00" in v for v in items):
            raise ValueError("不能包含 NUL 字符 / NUL characters are not allowed")
        return value


def _lon(default: Any = ...) -> Any:
    return Field(default, ge=-180, le=180)


def _lat(default: Any = ...) -> Any:
    return Field(default, ge=-90, le=90)


class ServicePointPatch(In):
    """Changes to a service point (fields left out stay as they are)."""

    code: str | None = Field(None, min_length=1, max_length=32)
    kind: Kind | None = None
    name: str | None = Field(None, min_length=1, max_length=100)
    address: str | None = Field(None, max_length=200)
    lon: Num | None = _lon(None)
    lat: Num | None = _lat(None)
    hours: str | None = Field(None, max_length=100)
    free: Flag | None = None
    drinking_water: Flag | None = None
    accessible: Flag | None = None
    kit: list[str] | None = Field(None, max_length=40)
    phone: str | None = Field(None, max_length=32)
    component_id: str | None = Field(None, min_length=17, max_length=17)
    state: State | None = None
    note: str | None = Field(None, max_length=1000)

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: str | None) -> str | None:
        if value is not None:
            domain.parse_hours(value)  # ValueError → 422 with the reason
        return value or None

    @field_validator("kit")
    @classmethod
    def _kit(cls, items: list[str] | None) -> list[str] | None:
        if items is not None and any(not (0 < len(i.strip()) <= 50) for i in items):
            raise ValueError("每件物品 1–50 个字 / each kit item has 1–50 characters")
        return [i.strip() for i in items] if items is not None else None


class ServicePointIn(ServicePointPatch):
    """A new service point."""

    kind: Kind
    name: str = Field(min_length=1, max_length=100)
    lon: Num = _lon()
    lat: Num = _lat()
    free: Flag = True
    drinking_water: Flag = False
    accessible: Flag = False
    state: State = "active"


class ServicePointOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    code: str | None
    kind: str
    name: str
    address: str | None
    lon: float
    lat: float
    grid_code: str | None
    community_code: str | None
    hours: str | None
    free: bool
    drinking_water: bool
    accessible: bool
    kit: list[str] | None
    phone: str | None
    component_id: str | None
    state: str
    note: str | None
    updated_at: datetime


class ImportResult(BaseModel):
    created: int
    updated: int


class NearbyOut(BaseModel):
    id: int
    kind: str
    kind_name: str
    name: str
    address: str | None
    lon: float
    lat: float
    walk_m: int
    minutes: int
    direction: str
    hours: str | None
    open_now: bool | None
    free: bool
    drinking_water: bool
    accessible: bool
    kit: list[str] | None


class PlacementIn(In):
    label: str = Field(min_length=1, max_length=100)
    lon: Num = _lon()
    lat: Num = _lat()
    address: str | None = Field(None, max_length=200)
    batch: str | None = Field(None, min_length=1, max_length=40)
    service_point_id: Int | None = Field(None, ge=1, le=MAX_ID)


class PlacementBatchIn(In):
    """Placements spread over the unit grids of an area (or of all grids): per_grid codes in each grid."""

    batch: str = Field(min_length=1, max_length=40)
    per_grid: Int = Field(1, ge=1, le=20)
    area_code: str | None = Field(None, pattern=r"^\d{6}(\d{3}(\d{3}(\d{3})?)?)?$")
    label: str = Field("服务指南", min_length=1, max_length=60)


class PlacementPatch(In):
    label: str | None = Field(None, min_length=1, max_length=100)
    address: str | None = Field(None, max_length=200)
    active: Flag | None = None


class PlacementOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    code: str
    url: str = ""
    label: str
    batch: str | None
    lon: float
    lat: float
    grid_code: str | None
    address: str | None
    service_point_id: int | None
    active: bool
    scans: int
    last_scan_at: datetime | None
    created_at: datetime


class BatchResult(BaseModel):
    batch: str
    created: int


class ConvenienceIn(In):
    kind: ServiceKind
    at: datetime | None = None
    lon: Num | None = _lon(None)
    lat: Num | None = _lat(None)
    service_point_id: Int | None = Field(None, ge=1, le=MAX_ID)
    people: Int = Field(1, ge=0, le=1000)
    description: str = Field(min_length=1, max_length=1000)
    items: str | None = Field(None, max_length=500)
    handed_to: str | None = Field(None, max_length=100)
    thanks_letters: Int = Field(0, ge=0, le=100)
    banners: Int = Field(0, ge=0, le=100)


class ClaimIn(In):
    claimed_by: str = Field(min_length=1, max_length=100)


class ConvenienceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    kind: str
    at: datetime
    lon: float | None
    lat: float | None
    grid_code: str | None
    service_point_id: int | None
    people: int
    description: str
    items: str | None
    claimed_at: datetime | None
    claimed_by: str | None
    handed_to: str | None
    thanks_letters: int
    banners: int
    recorded_by_name: str


class CampaignIn(In):
    """Start calling the numbers printed on the ads of a 非法小广告 case (one campaign per number)."""

    case_id: Int = Field(ge=1, le=MAX_ID)
    phones: list[str] = Field(min_length=1, max_length=10)
    max_days: Int | None = Field(None, ge=1, le=60)
    max_calls: Int | None = Field(None, ge=1, le=500)


class ClearIn(In):
    reason: Literal["owner_came_forward", "ads_removed"]
    note: str | None = Field(None, max_length=500)


class StopIn(In):
    note: str | None = Field(None, max_length=500)


class CampaignOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    case_id: int
    phone: str
    status: str
    plan: dict[str, Any]
    started_by_name: str
    started_at: datetime
    stopped_by_name: str | None
    stopped_at: datetime | None
    stop_reason: str | None
    stop_note: str | None
    calls: int
    answered: int
    last_call_at: datetime | None
    next_call_at: datetime | None


class AttemptOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    at: datetime
    level: int
    day_no: int
    recording: str
    result: str
    duration_s: float
    error: str | None


class CampaignDetail(CampaignOut):
    attempts: list[AttemptOut]


class StopListIn(In):
    phone: str = Field(min_length=3, max_length=32)
    reason: str = Field(min_length=1, max_length=200)


class StopListOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    phone: str
    reason: str
    added_by_name: str
    added_at: datetime
