"""Idempotency keys of the department app's workflow actions (a resend after a lost answer acts once)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from cityloop.db import Base, UTCDateTime


class DepartmentActionKey(Base):
    """One action taken under an Idempotency-Key: a replay of the key returns the case instead of acting again."""

    __tablename__ = "department_action_keys"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # cases.domain.scoped_key(user, header)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    action: Mapped[str] = mapped_column(String(32))
    request_hash: Mapped[str] = mapped_column(String(64))
    event_seq: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
