"""Muck-truck tables: companies and their users, vehicles, drivers, sites, zones and roads, permits, positions,
violations and appeals. Geometries are GeoJSON text in WGS84, as elsewhere in CityLoop."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Date, Float, ForeignKey, Integer, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cityloop.db import Base, JSONType, UTCDateTime


class Company(Base):
    """运输企业: a transport company (统一社会信用代码 = 18-character unified social credit code)."""

    __tablename__ = "fleet_companies"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)
    contact_name: Mapped[str | None] = mapped_column(String(50))
    contact_phone: Mapped[str | None] = mapped_column(String(32))
    address: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CompanyUser(Base):
    """Which company a user of role `company` (企业用户, 二级平台) acts for."""

    __tablename__ = "fleet_company_users"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("fleet_companies.id"), index=True)


class Vehicle(Base):
    """A muck truck with its JT/T 808 terminal; the terminal phone (SIM number) identifies it on the wire."""

    __tablename__ = "fleet_vehicles"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("fleet_companies.id"), index=True)
    plate: Mapped[str] = mapped_column(String(16), unique=True)
    plate_color: Mapped[int] = mapped_column(SmallInteger, default=2)  # JT/T 808: 1 blue, 2 yellow, 5 green …
    load_type: Mapped[str] = mapped_column(String(16), default="渣土")
    sealed: Mapped[bool] = mapped_column(Boolean, default=True)  # 密闭 body installed
    load_sensor: Mapped[bool] = mapped_column(Boolean, default=True)  # reports load in status bits 8–9
    terminal_id: Mapped[str | None] = mapped_column(String(30))
    # The phone number without leading zeros (devices are looked up that way); unique among terminals.
    terminal_phone: Mapped[str] = mapped_column(String(20), unique=True)
    coord_sys: Mapped[str] = mapped_column(String(8), default="wgs84")  # what the terminal sends
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_at: Mapped[int | None] = mapped_column(BigInteger)  # UNIX seconds of the newest position
    last_lon: Mapped[float | None] = mapped_column(Float)
    last_lat: Mapped[float | None] = mapped_column(Float)
    last_speed: Mapped[float | None] = mapped_column(Float)


class Driver(Base):
    __tablename__ = "fleet_drivers"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("fleet_companies.id"), index=True)
    name: Mapped[str] = mapped_column(String(50))
    phone: Mapped[str | None] = mapped_column(String(32))
    license_no: Mapped[str | None] = mapped_column(String(32))
    vehicle_id: Mapped[int | None] = mapped_column(ForeignKey("fleet_vehicles.id"))


class Site(Base):
    """A construction site (工地), a disposal site (消纳场) or a depot (停车场) as a polygon."""

    __tablename__ = "fleet_sites"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # construction | disposal | depot
    name: Mapped[str] = mapped_column(String(100))
    address: Mapped[str | None] = mapped_column(String(200))
    company_id: Mapped[int | None] = mapped_column(ForeignKey("fleet_companies.id"))
    geometry: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Zone(Base):
    """A restricted zone (禁行区), a speed zone, or a road (a line with a width) with its speed limit."""

    __tablename__ = "fleet_zones"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # restricted | speed | road
    name: Mapped[str] = mapped_column(String(100))
    geometry: Mapped[str] = mapped_column(Text)
    width_m: Mapped[float | None] = mapped_column(Float)  # roads
    speed_limit: Mapped[float | None] = mapped_column(Float)  # km/h
    hours: Mapped[list[str]] = mapped_column(JSONType, default=list)  # ["07:00-08:30", …]; empty = always
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Permit(Base):
    """处置/运输核准: which vehicles may haul from which site to which, along which corridor, when."""

    __tablename__ = "fleet_permits"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str | None] = mapped_column(String(24), unique=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("fleet_companies.id"), index=True)
    from_site_id: Mapped[int] = mapped_column(ForeignKey("fleet_sites.id"))
    to_site_id: Mapped[int] = mapped_column(ForeignKey("fleet_sites.id"))
    route: Mapped[str] = mapped_column(Text)  # GeoJSON LineString
    corridor_m: Mapped[float] = mapped_column(Float)  # corridor width
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date] = mapped_column(Date)
    hours: Mapped[list[str]] = mapped_column(JSONType, default=list)
    status: Mapped[str] = mapped_column(String(16), index=True)  # pending | approved | rejected | revoked
    reason: Mapped[str | None] = mapped_column(Text)
    applied_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PermitVehicle(Base):
    __tablename__ = "fleet_permit_vehicles"

    permit_id: Mapped[int] = mapped_column(ForeignKey("fleet_permits.id", ondelete="CASCADE"), primary_key=True)
    vehicle_id: Mapped[int] = mapped_column(ForeignKey("fleet_vehicles.id"), primary_key=True, index=True)


class Position(Base):
    """One position (WGS84, device time in UNIX seconds). On PostgreSQL the table is partitioned by day and old
    days are dropped whole; the key makes a re-sent position a no-op."""

    __tablename__ = "fleet_positions"
    __table_args__ = {"postgresql_partition_by": "RANGE (t)"}

    vehicle_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    t: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    speed: Mapped[float] = mapped_column(Float)  # km/h
    heading: Mapped[int] = mapped_column(SmallInteger)
    alarm: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[int] = mapped_column(BigInteger)
    flags: Mapped[int] = mapped_column(SmallInteger)  # 1 back-fill, 2 bad checksum


class Violation(Base):
    """One violation episode of one vehicle, with its track segment as evidence and the case it opened."""

    __tablename__ = "fleet_violations"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)  # vehicle:kind:start — one per episode
    kind: Mapped[str] = mapped_column(String(16), index=True)
    vehicle_id: Mapped[int] = mapped_column(ForeignKey("fleet_vehicles.id"), index=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("fleet_companies.id"), index=True)
    permit_id: Mapped[int | None] = mapped_column(ForeignKey("fleet_permits.id"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    status: Mapped[str] = mapped_column(String(16))  # open | appealed | upheld | cancelled
    appeal_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    case_error: Mapped[str | None] = mapped_column(String(200))


class Appeal(Base):
    """申诉: a company contests a violation with text and files; a reviewer upholds or cancels it."""

    __tablename__ = "fleet_appeals"

    id: Mapped[int] = mapped_column(primary_key=True)
    violation_id: Mapped[int] = mapped_column(ForeignKey("fleet_violations.id"), unique=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("fleet_companies.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    files: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)  # [{sha256, name, content_type, size}]
    submitted_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decision: Mapped[str | None] = mapped_column(String(16))  # upheld | cancelled
    decision_note: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class FleetState(Base):
    """One row whose version moves whenever vehicles, sites, zones or permits change, so every rule engine and
    gateway reloads what it checks against."""

    __tablename__ = "fleet_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
