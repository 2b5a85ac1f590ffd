"""Assessment API shapes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from cityloop.cases.api import LocalTimes


class RowOut(BaseModel):
    """One evaluated object in a period."""

    object_id: int | str = Field(..., description="部门/用户 id，或区域/网格代码")
    name: str
    group: str = Field(..., description="同类比较组 / peer group, e.g. class1")
    group_name: str
    counters: dict[str, int]
    rates: dict[str, float | None] = Field(..., description="0–1; null when nothing was due")
    score: float | None = Field(None, description="综合得分 0–100")
    grade: str | None = Field(None, description="评价等级 A–E")
    rank: int | None = None
    too_few: bool = Field(False, description="样本不足: under the 考核办法's minimum volume, so scored but not ranked")
    previous_rank: int | None = None
    rank_change: int | None = Field(None, description="名次变化: positive = moved up")
    indicators: dict[str, float] = Field(default_factory=dict, description="各指标分值")


class AssessmentOut(BaseModel):
    period: str
    label: str
    label_en: str
    kind: str
    kind_name: str
    start: str
    end: str = Field(..., description="exclusive")
    source: str = Field(..., description="published (frozen snapshot) | live (computed now)")
    published_at: str | None
    computed_at: str
    cases: int
    rows: list[RowOut]


class DrillCaseOut(LocalTimes):
    id: int
    number: str
    stage: str
    stage_name: str
    source: str
    category_code: str
    category_name: str
    grid_code: str
    department_name: str | None
    created_at: datetime
    closed_at: datetime | None
    node_due_at: datetime | None
    value: int = Field(..., description="this case's contribution to the figure")


class DrillOut(BaseModel):
    period: str
    kind: str
    object_id: int | str
    figure: str
    label: str
    value: int = Field(..., description="the figure (sum over the cases)")
    total: int = Field(..., description="number of cases behind the figure")
    page: int
    size: int
    items: list[DrillCaseOut]


class PeriodStatusOut(LocalTimes):
    period: str
    published: bool
    published_at: datetime | None
    published_by: str | None
    published_checksum: str | None
    checksum: str = Field(..., description="SHA-256 of the period's inputs now")
    cases: int
    drifted: bool = Field(..., description="inputs changed since publication")


class PublicationOut(LocalTimes):
    period: str
    published_at: datetime
    published_by: str
    checksum: str
    cases: int


class PublishIn(BaseModel):
    note: str | None = Field(None, max_length=500)


class AnnualUnitOut(BaseModel):
    object_id: int | str
    name: str
    group_name: str | None
    months: list[float | None] = Field(..., description="综合得分 of months 1–12 (null: no score)")
    score: float | None = Field(..., description="年度得分: mean of the scored months")
    grade: str | None
    last_place_months: int
    rewards: list[str] = Field(..., description="考核奖惩 from the 考核办法's rules")


class AnnualOut(BaseModel):
    year: int
    unit_type: str
    kind_name: str
    method: str
    annual_score_rule: str
    units: list[AnnualUnitOut]
