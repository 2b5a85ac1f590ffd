"""Public services tables: service points, QR placements, 便民服务 records, and 追呼 campaigns with their calls."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cityloop.db import Base, JSONType, UTCDateTime


class ServicePoint(Base):
    """A place the public uses: a toilet, a red station and its kit, a convenience point, a bench or bin …"""

    __tablename__ = "public_service_points"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str | None] = mapped_column(String(32), unique=True)  # the operator's own id (CSV import key)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    name: Mapped[str] = mapped_column(String(100))
    address: Mapped[str | None] = mapped_column(String(200))
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    grid_code: Mapped[str | None] = mapped_column(String(15), index=True)
    community_code: Mapped[str | None] = mapped_column(String(12))
    hours: Mapped[str | None] = mapped_column(String(100))  # "06:00-22:00", "24h"
    free: Mapped[bool] = mapped_column(Boolean, default=True)
    drinking_water: Mapped[bool] = mapped_column(Boolean, default=False)
    accessible: Mapped[bool] = mapped_column(Boolean, default=False)
    kit: Mapped[list[str] | None] = mapped_column(JSONType)  # red stations: what the service kit holds
    phone: Mapped[str | None] = mapped_column(String(32))
    component_id: Mapped[str | None] = mapped_column(ForeignKey("components.id"))
    state: Mapped[str] = mapped_column(String(16), default="active")
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class QrPlacement(Base):
    """A service-guide QR code posted at a place; its image is drawn on demand from the code."""

    __tablename__ = "public_qr_placements"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(8), unique=True)
    label: Mapped[str] = mapped_column(String(100))
    batch: Mapped[str | None] = mapped_column(String(40), index=True)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    grid_code: Mapped[str | None] = mapped_column(String(15))
    address: Mapped[str | None] = mapped_column(String(200))
    service_point_id: Mapped[int | None] = mapped_column(ForeignKey("public_service_points.id", ondelete="SET NULL"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    scans: Mapped[int] = mapped_column(Integer, default=0)
    last_scan_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ConvenienceRecord(Base):
    """便民服务: a service an inspector gave (directions, lost and found, a lost person found, an escort …)."""

    __tablename__ = "public_convenience_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    grid_code: Mapped[str | None] = mapped_column(String(15))
    service_point_id: Mapped[int | None] = mapped_column(ForeignKey("public_service_points.id", ondelete="SET NULL"))
    people: Mapped[int] = mapped_column(Integer, default=1)
    description: Mapped[str] = mapped_column(Text)
    items: Mapped[str | None] = mapped_column(Text)  # lost and found: what was found
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    handed_to: Mapped[str | None] = mapped_column(String(100))  # a lost person: handed over to whom
    thanks_letters: Mapped[int] = mapped_column(Integer, default=0)
    banners: Mapped[int] = mapped_column(Integer, default=0)  # 锦旗
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_by_name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CallCampaign(Base):
    """追呼: calling one number printed on illegal ads (a 07001 case) on a schedule until it is cleared."""

    __tablename__ = "public_call_campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    phone: Mapped[str] = mapped_column(String(20), index=True)
    status: Mapped[str] = mapped_column(String(12), index=True)  # running | cleared | ended | stopped
    plan: Mapped[dict[str, Any]] = mapped_column(JSONType)
    started_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    started_by_name: Mapped[str] = mapped_column(String(100))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    stopped_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    stopped_by_name: Mapped[str | None] = mapped_column(String(100))
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stop_reason: Mapped[str | None] = mapped_column(String(24))
    stop_note: Mapped[str | None] = mapped_column(Text)
    calls: Mapped[int] = mapped_column(Integer, default=0)
    answered: Mapped[int] = mapped_column(Integer, default=0)
    last_call_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_call_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)


class CallAttempt(Base):
    """One call of a campaign and what came of it."""

    __tablename__ = "public_call_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("public_call_campaigns.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    level: Mapped[int] = mapped_column(Integer)
    day_no: Mapped[int] = mapped_column(Integer)
    recording: Mapped[str] = mapped_column(String(200))
    result: Mapped[str] = mapped_column(String(12))
    duration_s: Mapped[float] = mapped_column(Float, default=0.0)
    gateway_ref: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(String(200))


class CallStop(Base):
    """免呼名单: a number never to be called (a victim's number printed by someone else, a public service line …)."""

    __tablename__ = "public_call_stop_list"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(20), unique=True)
    reason: Mapped[str] = mapped_column(String(200))
    added_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    added_by_name: Mapped[str] = mapped_column(String(100))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)
