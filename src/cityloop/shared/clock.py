"""Time sources: the system clock in production, a fixed or stepping clock in tests and the demo generator."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    """Current UTC time."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class FixedClock:
    """A clock that stands still until moved."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self.at = at

    def now(self) -> datetime:
        return self.at

    def advance(self, **kwargs: float) -> datetime:
        """Move forward by timedelta(**kwargs) and return the new time."""
        self.at = self.at + timedelta(**kwargs)
        return self.at

    def set(self, at: datetime) -> None:
        self.at = at
