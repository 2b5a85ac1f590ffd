"""Org API shapes."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


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
