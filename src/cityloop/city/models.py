"""Level rules: which cases are the city center's and which a district center's (category × area)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cityloop.db import Base, UTCDateTime


class LevelRule(Base):
    """Cases whose category code starts with category_code and whose unit grid code starts with area_code (either
    null = any) are handled at this level: the city center, or the district center of the case's district."""

    __tablename__ = "level_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    category_code: Mapped[str | None] = mapped_column(String(8))  # a prefix: "01" a major class, "0101" a matter
    area_code: Mapped[str | None] = mapped_column(String(12))  # a grid-code prefix: 6 = district, 9 = street
    level: Mapped[str] = mapped_column(String(8))  # city | district
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
