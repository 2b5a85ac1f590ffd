"""Regions (区县 → 街道/乡镇 → 社区/村), unit grids (单元网格) and duty grids (责任网格)."""

from __future__ import annotations

from sqlalchemy import Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cityloop.db import Base


class Region(Base):
    """An administrative area; geometry is GeoJSON text in WGS84."""

    __tablename__ = "regions"

    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    level: Mapped[str] = mapped_column(String(16))  # district | street | community
    name: Mapped[str] = mapped_column(String(100))
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"), index=True)
    geometry: Mapped[str | None] = mapped_column(Text)
    # 区域类别 for regional assessment bands: 1 = 一类区域 (urban core), 2 = 二类区域
    region_class: Mapped[int] = mapped_column(Integer, default=1)


class DutyGrid(Base):
    """A supervisor's patrol area made of unit grids."""

    __tablename__ = "duty_grids"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    district_code: Mapped[str] = mapped_column(String(12), index=True)


class DutyGridInspector(Base):
    __tablename__ = "duty_grid_inspectors"

    duty_grid_code: Mapped[str] = mapped_column(
        ForeignKey("duty_grids.code", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)


class UnitGrid(Base):
    """A ~10,000 m² cell with its 15-digit code (6 admin + 3 street + 3 community + 3 sequence)."""

    __tablename__ = "unit_grids"

    code: Mapped[str] = mapped_column(String(15), primary_key=True)
    community_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    street_code: Mapped[str] = mapped_column(String(12), index=True)
    district_code: Mapped[str] = mapped_column(String(12), index=True)
    duty_grid_code: Mapped[str | None] = mapped_column(ForeignKey("duty_grids.code"), index=True)
    area_m2: Mapped[float] = mapped_column(Float)
    geometry: Mapped[str] = mapped_column(Text)


class GeoState(Base):
    """One row whose version is bumped whenever unit or duty grids change, so every worker rebuilds its index."""

    __tablename__ = "geo_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
