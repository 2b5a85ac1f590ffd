"""The log of administrative changes (users, rules, calendar, catalog, grids), hash-chained like case events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from cityloop.db import Base, JSONType, UTCDateTime


class AuditEntry(Base):
    """One administrative change: who changed what, when, and how."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_unsealed", "id", sqlite_where=text("chain_seq IS NULL"),
                            postgresql_where=text("chain_seq IS NULL")),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_name: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(200))
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    chain_seq: Mapped[int | None] = mapped_column(Integer)  # position in the global audit chain, once sealed


class AuditHead(Base):
    """The hash of the newest entry; updating it serialises writers so the chain never forks."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hash: Mapped[str] = mapped_column(String(64))
    entries: Mapped[int] = mapped_column(Integer)


class AuditChainHead(Base):
    """The global chain's newest position and MAC; only the sealer writes it (one row, id 1)."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    mac: Mapped[str] = mapped_column(String(64))
    sealed_at: Mapped[datetime] = mapped_column(UTCDateTime)
