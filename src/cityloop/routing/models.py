"""Routing rules: (category × area) → responsible department (确权 results are saved here too)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cityloop.db import Base, UTCDateTime


class RoutingRule(Base):
    """Cases of this category (or any, when null) in this area go to this department."""

    __tablename__ = "routing_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"), index=True)
    area_level: Mapped[str] = mapped_column(String(16))  # grid | community | street | district
    area_code: Mapped[str] = mapped_column(String(15), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    note: Mapped[str | None] = mapped_column(Text)
    source_case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
