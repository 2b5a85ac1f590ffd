"""IoT monitoring tables: devices, readings (time series), rollups, rule state, alarms, public warnings, counters.

Readings use epoch milliseconds (BIGINT) like ThingsBoard's ts_kv: cheap to bulk-insert and bucket on both
backends. On PostgreSQL sensor_readings is partitioned by month (partitions live in the schema
`sensor_partitions`, created on demand and dropped whole by retention); on SQLite it is a plain table."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger, Boolean, Date, Float, ForeignKey, Index, Integer, SmallInteger, String, Text, UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

import cityloop.cases.api  # noqa: F401 - the tables our foreign keys name (cases, components, departments)
import cityloop.catalog.models  # noqa: F401
import cityloop.org.models  # noqa: F401
from cityloop.db import Base, JSONType, UTCDateTime

VALUE_COLUMNS = ("depth_cm", "tilt_deg", "open", "battery_pct", "pm25", "pm10", "leq_db", "rain_mm_h", "tsp", "temp_c",
                 "humidity_pct", "wind_ms", "wind_dir_deg")


class Device(Base):
    """A registered monitoring device (物联感知设备) at a place, owned by a responsible unit."""

    __tablename__ = "sensor_devices"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)  # the device_id in topics and payloads
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(20), index=True)  # see domain.DEVICE_TYPES
    model: Mapped[str | None] = mapped_column(String(100))
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    grid_code: Mapped[str | None] = mapped_column(String(15), index=True)
    address: Mapped[str | None] = mapped_column(String(200))
    # square | underpass | road | construction | school | hospital | residential | other
    context: Mapped[str | None] = mapped_column(String(20))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    installed_on: Mapped[date | None] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(16), default="active")  # active | maintenance | retired
    cover_type: Mapped[str | None] = mapped_column(String(5))  # 井盖 component type code, e.g. 01003
    component_id: Mapped[str | None] = mapped_column(ForeignKey("components.id"))
    rule_overrides: Mapped[dict[str, dict[str, Any]] | None] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_values: Mapped[dict[str, float] | None] = mapped_column(JSONType)
    # HJ 212 stations: 监测点编码 MN (up to 24 characters) and the access password PW their frames carry.
    hj212_mn: Mapped[str | None] = mapped_column(String(24), index=True, unique=True)
    hj212_password: Mapped[str | None] = mapped_column(String(32))


class Reading(Base):
    """One reading of one device (no foreign key: the hot path bulk-inserts, devices are never deleted)."""

    __tablename__ = "sensor_readings"
    __table_args__ = (Index("ix_sensor_readings_ts", "ts"), {"postgresql_partition_by": "RANGE (ts)"})

    device_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    ts: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)  # epoch ms
    depth_cm: Mapped[float | None] = mapped_column(Float)
    tilt_deg: Mapped[float | None] = mapped_column(Float)
    open: Mapped[int | None] = mapped_column(SmallInteger)
    battery_pct: Mapped[float | None] = mapped_column(Float)
    pm25: Mapped[float | None] = mapped_column(Float)
    pm10: Mapped[float | None] = mapped_column(Float)
    leq_db: Mapped[float | None] = mapped_column(Float)
    rain_mm_h: Mapped[float | None] = mapped_column(Float)
    tsp: Mapped[float | None] = mapped_column(Float)
    temp_c: Mapped[float | None] = mapped_column(Float)
    humidity_pct: Mapped[float | None] = mapped_column(Float)
    wind_ms: Mapped[float | None] = mapped_column(Float)
    wind_dir_deg: Mapped[float | None] = mapped_column(Float)
    # Values a station marked abnormal (HJ 212 data flag other than N): {"pm10": ["C", 512.0]}; they are kept here,
    # not in their column, so rules, rollups and charts see valid data only.
    flags: Mapped[dict[str, Any] | None] = mapped_column(JSONType)


class Rollup(Base):
    """Per-device, per-metric aggregates of 1 minute (step_s 60) and 1 hour (3600), kept longer than raw.

    `reported` is NULL for aggregates the jobs compute from raw readings, else the HJ 212 data flag of an interval
    the station reported itself (minute, hour, day data: N normal, C calibration …); the jobs never overwrite those."""

    __tablename__ = "sensor_rollups"

    device_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    metric: Mapped[str] = mapped_column(String(16), primary_key=True)
    step_s: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    bucket: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)  # epoch ms
    n: Mapped[int] = mapped_column(Integer)
    avg: Mapped[float] = mapped_column(Float)
    min: Mapped[float] = mapped_column(Float)
    max: Mapped[float] = mapped_column(Float)
    reported: Mapped[str | None] = mapped_column(String(1))


class RuleState(Base):
    """A rule's memory for one device (domain.State as JSON), persisted every few seconds by the ingestor."""

    __tablename__ = "sensor_rule_states"

    device_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    rule_code: Mapped[str] = mapped_column(String(32), primary_key=True)
    state: Mapped[list[Any]] = mapped_column(JSONType)


class Alarm(Base):
    """An alarm of one device under one rule: active → acknowledged → cleared; severity can rise.

    is_open is true while not cleared and NULL after, so (device, rule, is_open) admits one open alarm."""

    __tablename__ = "sensor_alarms"
    __table_args__ = (UniqueConstraint("device_id", "rule_code", "is_open", name="uq_sensor_alarms_open"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("sensor_devices.id"), index=True)
    rule_code: Mapped[str] = mapped_column(String(32))
    level: Mapped[str] = mapped_column(String(8))
    state: Mapped[str] = mapped_column(String(16), index=True)  # active | acknowledged | cleared
    is_open: Mapped[bool | None] = mapped_column(Boolean)
    value: Mapped[float | None] = mapped_column(Float)
    peak_value: Mapped[float | None] = mapped_column(Float)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    episode_id: Mapped[int | None] = mapped_column(Integer)  # first alarm of a re-triggered episode


class AlarmEvent(Base):
    """The history of an alarm: raise, escalate, acknowledge, clear, case, retrigger, case_failed."""

    __tablename__ = "sensor_alarm_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    alarm_id: Mapped[int] = mapped_column(ForeignKey("sensor_alarms.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(16))
    level: Mapped[str | None] = mapped_column(String(8))
    value: Mapped[float | None] = mapped_column(Float)
    actor: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSONType)


class PublicWarning(Base):
    """A public warning for a place (一键联动): caution or road closed, until the alarm clears."""

    __tablename__ = "sensor_warnings"

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("sensor_devices.id"), index=True)
    alarm_id: Mapped[int] = mapped_column(ForeignKey("sensor_alarms.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # caution | closed
    level: Mapped[str] = mapped_column(String(8))
    title: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200))
    place: Mapped[str] = mapped_column(String(200))
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    depth_cm: Mapped[float | None] = mapped_column(Float)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    note: Mapped[str | None] = mapped_column(Text)


class StationEvent(Base):
    """An HJ 212 upload that is not data (boot time 2081, running status 2021 and time 2041, device info 3020)."""

    __tablename__ = "sensor_station_events"
    __table_args__ = (Index("ix_sensor_station_events_device_received", "device_id", "received_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("sensor_devices.id"))
    cn: Mapped[str] = mapped_column(String(4))
    data_time: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the station's DataTime, in UTC
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    values: Mapped[dict[str, Any]] = mapped_column(JSONType)  # CP items: RestartTime, SB1-RS, i12001-Info …


class Counter(Base):
    """Ingestion counters across workers: accepted, stored, rejected:<reason>, and job watermarks."""

    __tablename__ = "sensor_counters"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)
