"""Catalog API shapes."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field
from cityloop.shared.fields import Flag


class ConditionOut(BaseModel):
    """立案条件 / A filing condition with its handling limit (处置时限) and closing condition (结案条件)."""

    code: str
    description: str
    limit: str = Field(..., description="处置时限：30m / 4h / 2d（工作时间；紧急为连续时间）", examples=["4h"])
    urgent: bool = Field(..., description="紧急：连续计时 / urgent: continuous time")
    is_default: bool
    closing_condition: str | None


class CategoryOut(BaseModel):
    """部件类型或事项 / A component type or a matter; matters list their filing conditions, the default first."""

    code: str
    kind: str = Field(..., description="component 部件 | matter 事项")
    major_code: str
    major_name: str
    name: str
    name_en: str | None = None
    component_code: str | None = Field(None, description="部件类事项对应的部件类型代码")
    is_local: bool = False
    closing_condition: str | None = None
    conditions: list[ConditionOut] = []
    sxdm: str | None = Field(None, description="事项代码（11 位 = 6 位行政区划代码 + 5 位类型代码），用于数据交换 / "
                                              "the 11-digit matter code of exchange records")


class ComponentOut(BaseModel):
    """部件 / A surveyed component instance; departments are given by code."""

    id: str = Field(..., description="部件标识码（17 位；旧标准 16 位）")
    type_code: str
    type_name: str
    name: str
    state: str
    lon: float
    lat: float
    grid_code: str | None
    owner_department: str | None = Field(None, description="权属单位代码")
    maintainer_department: str | None = Field(None, description="养护单位代码")
    competent_department: str | None = Field(None, description="主管部门代码")
    initial_date: date | None
    change_date: date | None
    data_source: str | None
    note: str | None
    distance_m: float | None = Field(None, description="到查询点的距离（米），按位置查询时给出")


class ConditionPatch(BaseModel):
    """A local change to a filing condition."""

    model_config = ConfigDict(extra="forbid")

    limit: str | None = Field(None, max_length=8, pattern=r"^\s*\d{1,5}\s*[mhdMHD]\s*$", description="30m / 4h / 2d")
    urgent: Flag | None = None
    description: str | None = Field(None, min_length=1, max_length=500)
    closing_condition: str | None = Field(None, max_length=500)
    is_default: Flag | None = None
