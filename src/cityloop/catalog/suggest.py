"""The suggestion index and picker list of the deployment's catalog, built once per process and standard."""

from __future__ import annotations

import threading
import time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from cityloop.catalog.models import Category
from cityloop.catalog.suggest_domain import MatterText, SuggestIndex, initials, read_synonyms

REFRESH_SECONDS = 600.0  # the catalog changes a few times a year; a reload shows within ten minutes
_lock = threading.Lock()
_built: dict[str, tuple[float, SuggestIndex, list[dict[str, Any]]]] = {}


def _matters(session: Session, standard: str) -> list[Category]:
    return list(session.scalars(select(Category).options(selectinload(Category.conditions)).where(
        Category.standard == standard, Category.kind == "matter", Category.active.is_(True)).order_by(Category.code)))


def _build(session: Session, standard: str) -> tuple[float, SuggestIndex, list[dict[str, Any]]]:
    cats = _matters(session, standard)
    synonyms = read_synonyms()
    texts = [MatterText(c.code, c.name, c.major_name, tuple(x.description for x in c.conditions)) for c in cats]
    index = SuggestIndex.build(texts, synonyms)
    words: dict[str, list[str]] = {}
    for phrase, code in synonyms:
        words.setdefault(code, []).append(phrase)
    picker = [{"code": c.code, "name": c.name, "major_name": c.major_name, "py": initials(c.name),
               "words": words.get(c.code, []), "words_py": [initials(w) for w in words.get(c.code, [])]}
              for c in cats]
    return time.monotonic(), index, picker


def _get(session: Session, standard: str) -> tuple[float, SuggestIndex, list[dict[str, Any]]]:
    hit = _built.get(standard)
    if hit is None or time.monotonic() - hit[0] > REFRESH_SECONDS:
        with _lock:
            hit = _built.get(standard)
            if hit is None or time.monotonic() - hit[0] > REFRESH_SECONDS:
                hit = _built[standard] = _build(session, standard)
    return hit


def suggest(session: Session, standard: str, text: str, limit: int) -> list[dict[str, Any]]:
    """Ranked matters for a free-text description."""
    return [{"code": s.code, "name": s.name, "score": s.score, "reason": s.reason}
            for s in _get(session, standard)[1].suggest(text, limit)]


def picker(session: Session, standard: str) -> list[dict[str, Any]]:
    """Every active matter with its pinyin initials and colloquial words, for client-side search."""
    return _get(session, standard)[2]


def invalidate() -> None:
    """Drop the built indexes (the catalog changed: `cityloop catalog load`, an API edit, another host; tests)."""
    _built.clear()
