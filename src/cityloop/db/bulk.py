"""insert_rows: many rows into one table in one statement on PostgreSQL (INSERT … SELECT FROM unnest of one array
per column), by executemany elsewhere.

executemany runs the INSERT once per row: on PostgreSQL every run starts an executor and opens the table and each
of its indexes again (thirteen for cases), which costs more server time than the row itself. One INSERT of arrays
does that once per batch, and its text does not change with the number of rows, so the server keeps it prepared."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Dialect, Table, text
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import TextClause


def insert_rows(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows (dicts with the same column keys) into table without returning anything."""
    if not rows:
        return
    dialect = session.get_bind().dialect
    if dialect.name != "postgresql":
        session.execute(table.insert(), list(rows))
        return
    names = tuple(rows[0])
    statement, processors = _unnest(table, names, dialect)
    params = {}
    for i, (name, process) in enumerate(zip(names, processors)):
        values = [row[name] for row in rows]
        params[f"c{i}"] = [process(v) for v in values] if process is not None else values
    session.execute(statement, params)


_CACHE: dict[tuple[str, tuple[str, ...], str], tuple[TextClause, list[Callable[[Any], Any] | None]]] = {}


def _unnest(table: Table, names: tuple[str, ...], dialect: Dialect) -> tuple[TextClause, list[Any]]:
    key = (table.name, names, dialect.name)
    found = _CACHE.get(key)
    if found is None:
        columns, quote = [table.c[name] for name in names], dialect.identifier_preparer.quote
        arrays = ", ".join(f"CAST(:c{i} AS {c.type.compile(dialect=dialect)}[])" for i, c in enumerate(columns))
        statement = text(f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in names)}) "
                         f"SELECT * FROM unnest({arrays})")
        found = _CACHE[key] = (statement, [c.type.dialect_impl(dialect).bind_processor(dialect) for c in columns])
    return found
