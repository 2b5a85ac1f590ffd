"""Identifiers in URLs: a row id is a plain ASCII number within the database's INTEGER range."""

from __future__ import annotations

MAX_ID = 2**31 - 1  # INTEGER primary keys on PostgreSQL


def as_id(value: object) -> int | None:
    """The row id that `value` spells, or None (then it may be a human-readable number such as a case number)."""
    if isinstance(value, int):
        return value if 0 < value <= MAX_ID else None
    text = str(value)
    if not (text.isascii() and text.isdigit()) or len(text) > 10:
        return None
    number = int(text)
    return number if 0 < number <= MAX_ID else None
