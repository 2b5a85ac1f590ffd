"""API shapes for spill matches and roadside checks."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from cityloop.shared.fields import Flag, Instant

NO_NUL = r"^[^\x00]*$"


class SpillIn(BaseModel):
    """Match a spill report (道路遗撒 case) to the truck that passed."""

    model_config = ConfigDict(extra="forbid")

    case_id: int = Field(..., ge=1, le=2**31 - 1)
    at: Instant | None = Field(None, description="发现抛撒的时间，默认为上报时间 / when the spill was seen")


class PassOut(BaseModel):
    vehicle_id: int
    plate: str
    distance_m: float
    passed_at: datetime


class SpillOut(BaseModel):
    """经过的渣土车（最近者在前）与生成的违规 / The trucks that passed, nearest first, and the violation linked."""

    case_id: int
    passes: list[PassOut]
    violation_id: int | None
    plate: str | None


class SpotCheckIn(BaseModel):
    """上路抽查 / A roadside spot check: items checked, True = passed."""

    model_config = ConfigDict(extra="forbid")

    plate: str = Field(..., min_length=2, max_length=16, pattern=NO_NUL)
    checked_at: Instant
    lon: float = Field(..., ge=-180, le=180)
    lat: float = Field(..., ge=-90, le=90)
    address: str | None = Field(None, max_length=256, pattern=NO_NUL)
    checker_name: str | None = Field(None, max_length=100, pattern=NO_NUL, description="检查人，默认为当前用户")
    items: dict[str, Flag] = Field(..., min_length=1, max_length=20,
                                   description="sealed 密闭, appearance 车容车貌, overload 超载, papers 证件, plate 号牌, spill 滴漏抛撒")
    note: str | None = Field(None, max_length=1000, pattern=NO_NUL)


class SpotCheckOut(BaseModel):
    id: int
    plate: str
    vehicle_id: int
    company_id: int
    checker_name: str
    checked_at: datetime
    lon: float
    lat: float
    address: str | None
    items: dict[str, bool]
    result: Literal["合格", "不合格"]
    failed: list[str]
    note: str | None
    violation_id: int | None
