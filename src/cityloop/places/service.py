"""Geocoding entry points for routers, the hotline, Open311 and 上级交办: query checks and look-ups."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from cityloop.places.index import Candidate
from cityloop.places.store import index_for
from cityloop.shared.errors import Invalid


def check_query(q: str, max_chars: int) -> str:
    """The query, stripped; empty, too long or with control characters is a 422."""
    text = q.strip()
    if not text:
        raise Invalid("geocode-query-empty", "请输入要查找的地址或地名", "Give an address or place name to look up")
    if len(text) > max_chars:
        raise Invalid("geocode-query-too-long", f"地址过长：最多 {max_chars} 个字（收到 {len(text)} 个）",
                      f"The query is too long: at most {max_chars} characters (got {len(text)})",
                      max_length=max_chars)
    if any(ord(c) < 32 for c in text):
        raise Invalid("geocode-query-control", "地址中含有控制字符", "The query contains control characters")
    return text


def geocode(session: Session, query: str, limit: int = 10) -> list[Candidate]:
    """Ranked candidates, best first."""
    return index_for(session).geocode(query, limit)


def best_point(session: Session, query: str) -> Candidate | None:
    """The best candidate, or None."""
    found = geocode(session, query[:200], 1)
    return found[0] if found else None


def reverse(session: Session, lon: float, lat: float) -> dict[str, Any] | None:
    """The nearest door plate, road or POI of a point, or None."""
    return index_for(session).reverse(lon, lat)
