"""Campaign tables: the campaign, its duty grids and inspectors, its checklist, checks done, and tagged cases."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cityloop.db import Base, JSONType, UTCDateTime


class Campaign(Base):
    """专项普查: a themed collection over some matters, in some duty grids, for a time window."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    theme: Mapped[str] = mapped_column(String(16))
    categories: Mapped[list[str]] = mapped_column(JSONType, default=list)  # matter codes
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CampaignGrid(Base):
    __tablename__ = "campaign_grids"

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True)
    duty_grid_code: Mapped[str] = mapped_column(ForeignKey("duty_grids.code"), primary_key=True)


class CampaignInspector(Base):
    __tablename__ = "campaign_inspectors"

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)


class CampaignItem(Base):
    """A checklist item to verify in every assigned grid."""

    __tablename__ = "campaign_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(String(200))


class CampaignCheck(Base):
    """An item verified in a grid, by whom and when."""

    __tablename__ = "campaign_checks"

    item_id: Mapped[int] = mapped_column(ForeignKey("campaign_items.id", ondelete="CASCADE"), primary_key=True)
    duty_grid_code: Mapped[str] = mapped_column(String(32), primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    done_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    done_at: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(String(500))


class CampaignCase(Base):
    """A case found by a campaign: tagged by rule (matter, grid, window) or by hand."""

    __tablename__ = "campaign_cases"

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True, index=True)
    tagged_by: Mapped[str] = mapped_column(String(16))  # rule | manual
    tagged_at: Mapped[datetime] = mapped_column(UTCDateTime)
