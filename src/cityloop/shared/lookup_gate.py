"""When a device gateway may read the database for an id its directory does not know.

A truck or station registered a moment ago (in this process or another) must be accepted at once, yet random ids
must not flood the database: each id is looked up at most once per `again` seconds, and `per_second` ids in all."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

Verdict = Literal["look", "recent", "limited"]


class LookupGate:
    """Rate limits database lookups after directory misses (one per gateway; not thread-safe by itself)."""

    def __init__(self, again: float = 1.0, per_second: int = 50, clock: Callable[[], float] = time.monotonic,
                 remember: int = 10_000) -> None:
        self.again, self.per_second, self.clock, self.remember = again, per_second, clock, remember
        self.looked_up: dict[str, float] = {}  # id -> when it was last looked up after a miss
        self._second, self._count = 0, 0

    def ask(self, key: str) -> Verdict:
        """"look" (and remember it), "recent" (looked up under `again` seconds ago) or "limited" (too many now)."""
        now = self.clock()
        if now - self.looked_up.get(key, -self.again) < self.again:
            return "recent"
        second = int(now)
        if second == self._second and self._count >= self.per_second:
            return "limited"
        self._second, self._count = second, (self._count + 1 if second == self._second else 1)
        if len(self.looked_up) > self.remember:
            self.looked_up.clear()
        self.looked_up[key] = now
        return "look"

    def clear(self) -> None:
        """Forget the misses (the directory was just reloaded)."""
        self.looked_up.clear()
