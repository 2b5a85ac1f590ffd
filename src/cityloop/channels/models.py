"""Intake channels' own records: tracking codes, API keys, cameras and their captures, inspectors' position pings,
photo evidence flags, the gazetteer behind geocoding, and rate-limit counters. Cases themselves stay in cases/."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column

from cityloop.db import Base, JSONType, UTCDateTime


class ChannelReport(Base):
    """A case that came in through a public-facing channel (拍一拍, Open311, 上级交办): its tracking code (also the
    Open311 token) and what the channel told us beyond the case itself."""

    __tablename__ = "channel_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), unique=True)
    channel: Mapped[str] = mapped_column(String(16))  # public | open311 | assigned
    tracking_code: Mapped[str] = mapped_column(String(16), unique=True)
    jurisdiction_id: Mapped[str | None] = mapped_column(String(64))
    media_url: Mapped[str | None] = mapped_column(String(512))
    media_public: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())  # staff looked at it
    device_id: Mapped[str | None] = mapped_column(String(64))
    account_id: Mapped[str | None] = mapped_column(String(64))
    external_ref: Mapped[str | None] = mapped_column(String(128))  # 上级交办: the upper platform's number
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    category_guessed: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ChannelKey(Base):
    """An API key of an integration (Open311 client, video analytics, upper platform); only its hash is stored."""

    __tablename__ = "channel_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # open311 | video | assign
    name: Mapped[str] = mapped_column(String(100))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Camera(Base):
    """A registered video channel (监控点位) with its place, located once at registration."""

    __tablename__ = "cameras"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    site: Mapped[str | None] = mapped_column(String(100))
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    grid_code: Mapped[str] = mapped_column(String(15))
    duty_grid_code: Mapped[str | None] = mapped_column(String(32))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CameraEvent(Base):
    """One capture from the video analytics system and the case it opened or updated."""

    __tablename__ = "camera_events"
    __table_args__ = (Index("ix_camera_events_camera_type_at", "camera_code", "event_type", "captured_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    camera_code: Mapped[str] = mapped_column(ForeignKey("cameras.code"))
    event_type: Mapped[str] = mapped_column(String(32))
    event_id: Mapped[str | None] = mapped_column(String(64))
    confidence: Mapped[float] = mapped_column(Float)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    opened_case: Mapped[bool] = mapped_column(Boolean)
    captured_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PositionPing(Base):
    """Where an inspector's phone was (patrol track), for coverage and 漏报 figures."""

    __tablename__ = "position_pings"
    __table_args__ = (Index("ix_position_pings_user_at", "user_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    grid_code: Mapped[str | None] = mapped_column(String(15))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PhotoEvidence(Base):
    """What a case photo's EXIF and perceptual hash say, and the flags that follow (never a rejection)."""

    __tablename__ = "photo_evidence"

    photo_id: Mapped[int] = mapped_column(ForeignKey("case_photos.id"), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    exif_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    exif_lon: Mapped[float | None] = mapped_column(Float)
    exif_lat: Mapped[float | None] = mapped_column(Float)
    distance_m: Mapped[float | None] = mapped_column(Float)
    gap_minutes: Mapped[float | None] = mapped_column(Float)
    phash: Mapped[str | None] = mapped_column(String(16), index=True)
    flags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    matches: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime)


class GazetteerEntry(Base):
    """A named place for geocoding: road, POI, community, town (WGS84 point)."""

    __tablename__ = "gazetteer_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # road | poi | community | town
    alias: Mapped[str | None] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(200))
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(32))  # synthetic | regions | csv file name


class RateLimit(Base):
    """A fixed-window counter (per IP, per phone) shared by every worker."""

    __tablename__ = "channel_rate_limits"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    window_start: Mapped[int] = mapped_column(BigInteger)  # epoch seconds
    count: Mapped[int] = mapped_column(Integer)
