"""Campaign API shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from cityloop.campaigns.domain import THEMES
from cityloop.shared.fields import Instant

Theme = Literal["greening", "lighting", "facilities", "illegal_ads", "event_support", "other"]
assert get_args(Theme) == tuple(THEMES), "Theme must list the keys of THEMES, in order"
MatterCode = Annotated[str, Field(min_length=1, max_length=8)]  # checked by the service (422 naming the bad ones)
GridCode = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[^\x00]*$")]
Username = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\x00]*$")]
ItemText = Annotated[str, Field(max_length=200, pattern=r"^[^\x00]*$")]


class CampaignIn(BaseModel):
    """A new campaign (专项普查)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(..., min_length=1, max_length=100, pattern=r"^[^\x00]*$")
    theme: Theme
    categories: list[MatterCode] = Field(..., min_length=1, max_length=50, description="事项代码（5 位）/ matter codes")
    starts_at: Instant
    ends_at: Instant
    grids: list[GridCode] = Field(..., min_length=1, max_length=200, description="责任网格代码 / duty grid codes")
    inspectors: list[Username] = Field(default_factory=list, max_length=200, description="监督员用户名 / usernames")
    checklist: list[ItemText] = Field(default_factory=list, max_length=50, description="每个网格需核查的项目")
    note: str | None = Field(None, max_length=1000, pattern=r"^[^\x00]*$")


class CheckIn(BaseModel):
    """Mark a checklist item verified in a grid."""

    model_config = ConfigDict(extra="forbid")

    item_id: int = Field(..., ge=1, le=2**31 - 1)
    grid: str = Field(..., min_length=1, max_length=32, pattern=r"^[^\x00]*$")
    note: str | None = Field(None, max_length=500, pattern=r"^[^\x00]*$")


class TagIn(BaseModel):
    """Tag a case as found by the campaign."""

    model_config = ConfigDict(extra="forbid")

    case_id: int = Field(..., ge=1, le=2**31 - 1)


class ItemOut(BaseModel):
    id: int
    text: str


class CampaignOut(BaseModel):
    """专项普查 / A campaign with its grids, inspectors and checklist."""

    id: int
    name: str
    theme: str
    theme_name: str
    categories: list[str]
    starts_at: datetime
    ends_at: datetime
    status: Literal["planned", "running", "ended"]
    grids: list[str]
    inspectors: list[str]
    checklist: list[ItemOut]
    note: str | None = None


class GridProgressOut(BaseModel):
    grid: str
    items_done: int
    items_total: int
    done_ratio: float
    cases_found: int
    cases_closed: int


class ProgressOut(BaseModel):
    """进度 / Progress per duty grid and overall."""

    campaign: CampaignOut
    grids: list[GridProgressOut]
    overall: GridProgressOut


class TaskOut(BaseModel):
    """An inspector's task: a running campaign, the grids they cover in it, and what is left to verify."""

    campaign: CampaignOut
    grids: list[str]
    todo: list[dict[str, Any]]
