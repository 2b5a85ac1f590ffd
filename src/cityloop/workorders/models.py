"""12345 工单 as received (with what became of them) and the outbox of messages back to the platform."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cityloop.db import Base, JSONType, UTCDateTime


class WorkOrder(Base):
    """One 12345 工单: the platform's body kept as received, our reading of it, and its state: parked (待处理,
    waiting for an operator), case (became a case) or returned (退单)."""

    __tablename__ = "workorders"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_no: Mapped[str] = mapped_column(String(64), unique=True)  # 工单编号
    delivery_id: Mapped[str | None] = mapped_column(String(128), unique=True)  # the webhook's delivery id
    raw: Mapped[dict[str, Any]] = mapped_column(JSONType)
    fields: Mapped[dict[str, str | None]] = mapped_column(JSONType)  # our field → value (see domain.OUR_FIELDS)
    status: Mapped[str] = mapped_column(String(16), index=True)  # parked | case | returned
    reason: Mapped[str | None] = mapped_column(String(32))  # why parked (domain.PARK_REASONS)
    return_reason: Mapped[str | None] = mapped_column(String(500))
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), unique=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(100))


class WorkOrderMessage(Base):
    """A message to the 12345 platform (签收, progress, 办结, 回访, 退单), written in the transaction that caused
    it and posted in id order per 工单; dedupe_key makes a resend recognisable and a second insert impossible."""

    __tablename__ = "workorder_messages"
    __table_args__ = (Index("ix_workorder_messages_pending", "sent_at", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workorder_id: Mapped[int] = mapped_column(ForeignKey("workorders.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # domain.KINDS
    dedupe_key: Mapped[str] = mapped_column(String(128), unique=True)
    body: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
