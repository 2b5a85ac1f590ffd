"""Categories (部件/事项), their filing conditions (立案条件) with time limits, and component instances."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Boolean, Date, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cityloop.db import Base


class Category(Base):
    """A subclass of a catalog standard: a component type (部件) or a matter (事项/事件)."""

    __tablename__ = "categories"
    __table_args__ = (UniqueConstraint("standard", "kind", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    standard: Mapped[str] = mapped_column(String(32))  # e.g. "GB/T 47678.5-2026", "CJ/T 214-2007", "local"
    kind: Mapped[str] = mapped_column(String(16))  # component | matter
    major_code: Mapped[str] = mapped_column(String(4))
    major_name: Mapped[str] = mapped_column(String(50))
    code: Mapped[str] = mapped_column(String(8), index=True)
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str | None] = mapped_column(String(200))
    # For a component matter ("…异常"): the component type it is about.
    component_code: Mapped[str | None] = mapped_column(String(8))
    closing_condition: Mapped[str | None] = mapped_column(Text)
    is_local: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    conditions: Mapped[list["FilingCondition"]] = relationship(
        order_by="FilingCondition.position", lazy="selectin", cascade="all, delete-orphan"
    )


class FilingCondition(Base):
    """立案条件: when a report becomes a case, and the handling limit (处置时限) that follows."""

    __tablename__ = "filing_conditions"
    __table_args__ = (UniqueConstraint("category_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(Text)
    limit_value: Mapped[int] = mapped_column(Integer)
    limit_unit: Mapped[str] = mapped_column(String(4))  # m | h | d  (working minutes/hours/days)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)  # 紧急: continuous time
    closing_condition: Mapped[str | None] = mapped_column(Text)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)


class Component(Base):
    """A surveyed component instance (部件普查) with its 17-digit id (GLBJBSM)."""

    __tablename__ = "components"

    id: Mapped[str] = mapped_column(String(17), primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"), index=True)
    name: Mapped[str] = mapped_column(String(30))
    competent_department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))  # 主管部门
    owner_department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))  # 权属单位
    maintainer_department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))  # 养护单位
    grid_code: Mapped[str | None] = mapped_column(ForeignKey("unit_grids.code"), index=True)
    state: Mapped[str] = mapped_column(String(10), default="完好")
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    initial_date: Mapped[date | None] = mapped_column(Date)
    change_date: Mapped[date | None] = mapped_column(Date)
    data_source: Mapped[str | None] = mapped_column(String(30))
    note: Mapped[str | None] = mapped_column(Text)
