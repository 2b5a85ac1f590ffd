"""The matters of the deployment's catalog held in memory for intake, refreshed every few seconds.

Every report names a matter; looking it up in the database would cost each report a query, while the catalog
changes a few times a year (`cityloop catalog load`)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cityloop.catalog.models import Category

REFRESH_SECONDS = 30.0


@dataclass(frozen=True)
class Matter:
    """The few fields of a matter that intake needs."""

    id: int
    code: str
    name: str


def load_matters(session: Session, standard: str, code: str | None = None) -> dict[str, Matter]:
    """Active matters of one catalog standard by code (or just the one with `code`)."""
    stmt = select(Category.id, Category.code, Category.name).where(
        Category.standard == standard, Category.kind == "matter", Category.active.is_(True))
    rows = session.execute(stmt.where(Category.code == code) if code else stmt)
    return {code: Matter(id_, code, name) for id_, code, name in rows}


class MatterCache:
    """Matters by code for one standard, reloaded when older than REFRESH_SECONDS."""

    def __init__(self, factory: sessionmaker[Session], standard: str) -> None:
        self.factory, self.standard = factory, standard
        self._matters: dict[str, Matter] = {}
        self._loaded_at = float("-inf")
        self._lock = threading.Lock()

    def get(self, code: str) -> Matter | None:
        """The active matter with this code, or None. A code not in the cache is looked up in the database
        (a catalog may have just been loaded); a matter deactivated meanwhile lingers up to REFRESH_SECONDS."""
        if time.monotonic() - self._loaded_at > REFRESH_SECONDS:
            with self._lock, self.factory() as session:
                self._matters, self._loaded_at = load_matters(session, self.standard), time.monotonic()
        matter = self._matters.get(code)
        if matter is None:
            with self.factory() as session:
                matter = load_matters(session, self.standard, code).get(code)
            if matter is not None:
                self._matters = {**self._matters, code: matter}
        return matter

    def invalidate(self) -> None:
        """Reload on next use (after this process changed the catalog)."""
        self._loaded_at = float("-inf")
