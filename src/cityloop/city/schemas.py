"""City-mode shapes: level rules and district centers."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class LevelRuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category_code: str | None = Field(None, min_length=1, max_length=8, pattern=r"^[0-9A-Za-z]+$",
                                      description="事项代码前缀；为空表示所有类别 / category code prefix")
    area_code: str | None = Field(None, min_length=6, max_length=12, pattern=r"^[0-9]+$",
                                  description="网格代码前缀（6 位区县、9 位街道）；为空表示全市 / grid code prefix")
    level: Literal["city", "district"]
    note: str | None = Field(None, max_length=500)


class LevelRuleOut(BaseModel):
    id: int
    category_code: str | None
    area_code: str | None
    level: str
    level_name: str
    note: str | None


class DistrictCenterOut(BaseModel):
    code: str
    name: str
    staff: int = Field(description="分中心人员数 / staff of the district center")
    open_cases: int = Field(description="分中心在办案件 / open cases the district center handles")
