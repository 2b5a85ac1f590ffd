"""Routing rule shapes."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class RuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category_code: str | None = Field(None, max_length=8, description="事项代码；为空表示所有类别")
    area_level: Literal["grid", "community", "street", "district"]
    area_code: str = Field(..., min_length=6, max_length=15)
    department_code: str = Field(..., min_length=1, max_length=32)
    note: str | None = Field(None, max_length=500)


class RuleOut(BaseModel):
    id: int
    category_code: str | None
    area_level: str
    area_code: str
    department_code: str
    note: str | None
    source_case_id: int | None
