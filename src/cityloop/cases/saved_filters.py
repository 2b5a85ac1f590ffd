"""常用查询: a user's saved case searches (the query string of /console/cases)."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import parse_qsl, urlencode

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityloop.cases.models import SavedFilter
from cityloop.shared.errors import Conflict, Invalid, NotFound
from cityloop.shared.ids import as_id

# Query-string keys a saved search may hold (those of /console/cases).
SEARCH_KEYS = frozenset({"number", "address", "q", "stage", "category", "department", "source", "grid", "overdue",
                         "date_from", "date_to", "page"})
MAX_SAVED_FILTERS = 50


def mine(session: Session, user_id: int) -> list[SavedFilter]:
    """The user's saved searches by name."""
    return list(session.scalars(select(SavedFilter).where(SavedFilter.user_id == user_id).order_by(SavedFilter.name)))


def save(session: Session, user_id: int, name: str, query: str, now: datetime) -> SavedFilter:
    """Save (or overwrite by name) a search; unknown fields and the page number are refused or dropped."""
    name, query = name.strip(), query.lstrip("?")
    if not name:
        raise Invalid("bad-filter-name", "名称不能为空", "Name must not be blank")
    pairs = parse_qsl(query, keep_blank_values=False)
    if any(k not in SEARCH_KEYS for k, _ in pairs):
        raise Invalid("bad-filter-query", "查询条件含未知字段", "The query has unknown fields")
    query = urlencode([(k, v) for k, v in pairs if k != "page"])
    row = session.scalar(select(SavedFilter).where(SavedFilter.user_id == user_id, SavedFilter.name == name))
    if row is None:
        count = session.scalar(select(func.count(SavedFilter.id)).where(SavedFilter.user_id == user_id)) or 0
        if count >= MAX_SAVED_FILTERS:
            raise Conflict("too-many-filters", f"最多保存 {MAX_SAVED_FILTERS} 个查询",
                           f"At most {MAX_SAVED_FILTERS} saved searches")
        row = SavedFilter(user_id=user_id, name=name, query=query, created_at=now)
        session.add(row)
    row.query = query
    session.commit()
    return row


def delete(session: Session, user_id: int, filter_id: int) -> None:
    """Delete one of the user's saved searches (another user's is not found)."""
    row = session.get(SavedFilter, filter_id) if as_id(filter_id) else None
    if row is None or row.user_id != user_id:
        raise NotFound("filter-not-found", "常用查询不存在", "Saved search not found")
    session.delete(row)
    session.commit()
