"""上路抽查: a roadside spot check of a muck truck by an inspector or law-enforcement officer."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cityloop.db import Base, JSONType, UTCDateTime
from cityloop.muck.domain import CheckResult


class SpotCheck(Base):
    """Who checked which truck where and when, item by item, and the violation a failure became."""

    __tablename__ = "muck_spot_checks"

    id: Mapped[int] = mapped_column(primary_key=True)
    vehicle_id: Mapped[int] = mapped_column(ForeignKey("fleet_vehicles.id"), index=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("fleet_companies.id"), index=True)
    plate: Mapped[str] = mapped_column(String(16))
    checked_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    checker_name: Mapped[str] = mapped_column(String(100))
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    address: Mapped[str | None] = mapped_column(String(256))
    items: Mapped[dict[str, bool]] = mapped_column(JSONType, default=dict)  # item -> passed
    result: Mapped[CheckResult] = mapped_column(String(8))  # 合格 | 不合格
    note: Mapped[str | None] = mapped_column(Text)
    violation_id: Mapped[int | None] = mapped_column(ForeignKey("fleet_violations.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
