"""The assessment projection (one row per case, rebuilt from events at will), its progress, and published periods."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cityloop.db import Base, JSONType, UTCDateTime


class CaseStat(Base):
    """统计信息: a case's counters packed in two integers (see figures.py), the period it counts in (assess_ts,
    epoch seconds of its governing deadline) and the objects it counts for (0 = none).

    Clustered by (assess_ts, case_id) on SQLite (WITHOUT ROWID), so a period is one contiguous range. No foreign
    keys: it is a disposable projection, rebuilt from the events by `cityloop report refresh --rebuild`."""

    __tablename__ = "assess_case_stats"
    __table_args__ = (Index("ix_assess_case_stats_case_id", "case_id", unique=True), {"sqlite_with_rowid": False})

    assess_ts: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    case_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_seq: Mapped[int] = mapped_column(Integer)
    # Deadline of the running node the counters wait for (0 = none; figures.NEVER while 挂账).
    pending_ts: Mapped[int] = mapped_column(BigInteger)
    flags: Mapped[int] = mapped_column(BigInteger)
    counts: Mapped[int] = mapped_column(BigInteger)
    grid: Mapped[int] = mapped_column(BigInteger)  # the 15-digit unit-grid code; regions are its prefixes
    department_id: Mapped[int] = mapped_column(Integer)
    return_department_id: Mapped[int] = mapped_column(Integer)
    reporter_id: Mapped[int] = mapped_column(Integer)
    operator_id: Mapped[int] = mapped_column(Integer)
    verifier_id: Mapped[int] = mapped_column(Integer)
    filer_id: Mapped[int] = mapped_column(Integer)
    dispatcher_id: Mapped[int] = mapped_column(Integer)
    checker_id: Mapped[int] = mapped_column(Integer)
    closer_id: Mapped[int] = mapped_column(Integer)
    # The month scan's columns again (flags … closer_id, little-endian, see store.PACKED), read as one value per
    # case: a covering copy that makes a million-case month one contiguous read.
    packed: Mapped[bytes] = mapped_column(LargeBinary)
    source: Mapped[str] = mapped_column(String(16))
    category_code: Mapped[str] = mapped_column(String(8))
    created_ts: Mapped[int] = mapped_column(BigInteger)  # when the case was reported (trends, hot spots)


class AssessState(Base):
    """How far the projection has read the event log."""

    __tablename__ = "assess_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    last_event_id: Mapped[int] = mapped_column(BigInteger, default=0)
    refreshed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Publication(Base):
    """A published (frozen) period: every kind's rows as computed then, and the checksum of the inputs."""

    __tablename__ = "assess_publications"

    id: Mapped[int] = mapped_column(primary_key=True)
    period: Mapped[str] = mapped_column(String(32), unique=True)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime)
    published_by: Mapped[str] = mapped_column(String(100))
    checksum: Mapped[str] = mapped_column(String(64))
    cases: Mapped[int] = mapped_column(Integer)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    results: Mapped[dict[str, Any]] = mapped_column(JSONType)
    note: Mapped[str | None] = mapped_column(Text)
