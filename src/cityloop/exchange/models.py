"""Exchange tables. County side: the outbox, the uplink's state, cases received from above. City side: links,
batches (for replays), mirrored cases and events, parked events, other records, assignments sent down."""

from __future__ import annotations

from typing import Any

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from cityloop.db import Base, JSONType, UTCDateTime


class OutboxRow(Base):
    """One message to ship upward, written in the transaction that made it; acked once the upper platform took it."""

    __tablename__ = "exchange_outbox"
    __table_args__ = (Index("ix_exchange_outbox_pending", "id", sqlite_where=text("acked_at IS NULL"),
                            postgresql_where=text("acked_at IS NULL")),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    case_id: Mapped[int | None] = mapped_column(Integer, index=True)
    case_seq: Mapped[int | None] = mapped_column(Integer)
    body: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    acked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    batch_id: Mapped[str | None] = mapped_column(String(64))


class Uplink(Base):
    """The county's one link upward: when to try next, how it went (a single row, id 1)."""

    __tablename__ = "exchange_uplink"

    id: Mapped[int] = mapped_column(primary_key=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_try_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_ok_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    errors: Mapped[int] = mapped_column(Integer, default=0)
    sent_events: Mapped[int] = mapped_column(Integer, default=0)


class Received(Base):
    """A case the upper platform assigned down (上级交办) and the local case it became."""

    __tablename__ = "exchange_received"

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(64), unique=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Link(Base):
    """City side: one county platform's link health."""

    __tablename__ = "exchange_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(32), unique=True)
    last_batch_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_batch_id: Mapped[str | None] = mapped_column(String(64))
    last_outbox_id: Mapped[int] = mapped_column(Integer, default=0)
    batches: Mapped[int] = mapped_column(Integer, default=0)
    events: Mapped[int] = mapped_column(Integer, default=0)
    lag_seconds: Mapped[float | None] = mapped_column(Float)  # receipt − the newest event's creation, last batch
    errors: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Batch(Base):
    """City side: an applied batch and the answer given, so a replay gets the same answer."""

    __tablename__ = "exchange_batches"
    __table_args__ = (UniqueConstraint("platform", "batch_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(32))
    batch_id: Mapped[str] = mapped_column(String(64))
    digest: Mapped[str] = mapped_column(String(64))
    result: Mapped[dict[str, Any]] = mapped_column(JSONType)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MirrorCase(Base):
    """City side: a county's case as its events tell it."""

    __tablename__ = "exchange_cases"
    __table_args__ = (UniqueConstraint("platform", "remote_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(32), index=True)
    remote_id: Mapped[int] = mapped_column(Integer)
    number: Mapped[str] = mapped_column(String(32))
    category_code: Mapped[str] = mapped_column(String(8))
    source: Mapped[str] = mapped_column(String(16))
    stage: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(Text, default="")
    address: Mapped[str | None] = mapped_column(String(256))
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    district_code: Mapped[str | None] = mapped_column(String(12))
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    required_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    overdue: Mapped[bool] = mapped_column(default=False)
    rework_count: Mapped[int] = mapped_column(Integer, default=0)
    last_seq: Mapped[int] = mapped_column(Integer)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime)
    assignment_ref: Mapped[str | None] = mapped_column(String(64), index=True)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONType)  # the newest result event: action, note, photos' hashes


class MirrorEvent(Base):
    """City side: every message taken from a county, once (platform, event_id)."""

    __tablename__ = "exchange_events"
    __table_args__ = (UniqueConstraint("platform", "event_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(32))
    event_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    mirror_case_id: Mapped[int | None] = mapped_column(ForeignKey("exchange_cases.id"), index=True)
    seq: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str | None] = mapped_column(String(32))
    actor_role: Mapped[str | None] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    from_stage: Mapped[str | None] = mapped_column(String(16))
    to_stage: Mapped[str | None] = mapped_column(String(16))
    body: Mapped[dict[str, Any]] = mapped_column(JSONType)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Parked(Base):
    """City side: a case event that cannot apply yet (a gap before it) or at all, with the reason."""

    __tablename__ = "exchange_parked"
    __table_args__ = (UniqueConstraint("platform", "event_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(32))
    event_id: Mapped[str] = mapped_column(String(64))
    remote_case_id: Mapped[int] = mapped_column(Integer, index=True)
    seq: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    body: Mapped[dict[str, Any]] = mapped_column(JSONType)
    parked_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Monthly(Base):
    """City side: a county's own monthly assessment figures (the newest report per month wins)."""

    __tablename__ = "exchange_monthly"
    __table_args__ = (UniqueConstraint("platform", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(32))
    month: Mapped[str] = mapped_column(String(7))
    figures: Mapped[dict[str, Any]] = mapped_column(JSONType)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Assignment(Base):
    """City side: a case assigned down to a county (上级交办), delivered on the county's next batch answer."""

    __tablename__ = "exchange_assignments"

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(64), unique=True)
    platform: Mapped[str] = mapped_column(String(32), index=True)
    body: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(100))
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the county's case event with this ref came up


class Record(Base):
    """City side: a county's newest component census change (部件普查) or alarm summary (运行监测) per key."""

    __tablename__ = "exchange_records"
    __table_args__ = (UniqueConstraint("platform", "kind", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32), index=True)
    key: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    data: Mapped[dict[str, Any]] = mapped_column(JSONType)
    changes: Mapped[int] = mapped_column(Integer, default=1)  # how many messages this key has had
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
