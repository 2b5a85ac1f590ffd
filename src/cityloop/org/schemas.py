"""Org API shapes."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from cityloop.shared.fields import Flag


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


class DepartmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    name_en: str | None = None
    group: str
    territory_code: str | None = None


class MeOut(BaseModel):
    id: int
    username: str
    display_name: str
    roles: list[str]
    department_code: str | None = None
    department_name: str | None = None
    duty_grids: list[str] = []
    district_code: str | None = None


Role = Literal["inspector", "operator", "shift_lead", "dispatcher", "department", "leader", "admin", "company"]


class UserOut(BaseModel):
    id: int
    username: str
    display_name: str
    roles: list[str]
    department_code: str | None = None
    district_code: str | None = None
    phone: str | None = None
    active: bool
    locked: bool = False


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(..., min_length=2, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    display_name: str = Field(..., min_length=1, max_length=100)
    password: str = Field(..., min_length=8, max_length=256)
    roles: list[Role] = Field(..., min_length=1, max_length=8)
    department_code: str | None = Field(None, max_length=32)
    district_code: str | None = Field(None, pattern=r"^[0-9]{6}$", description="区县分中心代码；空 = 市级中心 / "
                                                                            "district center (city mode); null = city")
    phone: str | None = Field(None, max_length=32)


class UserPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    display_name: str | None = Field(None, min_length=1, max_length=100)
    roles: list[Role] | None = Field(None, min_length=1, max_length=8)
    department_code: str | None = Field(None, max_length=32)
    district_code: str | None = Field(None, pattern=r"^[0-9]{6}$", description="区县分中心代码；空 = 市级中心 / "
                                                                            "district center (city mode); null = city")
    phone: str | None = Field(None, max_length=32)
    active: Flag | None = None
    password: str | None = Field(None, min_length=8, max_length=256)
    unlock: Flag = False
