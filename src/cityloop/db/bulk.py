"""insert_rows: many rows into one table in one statement on PostgreSQL (INSERT … SELECT FROM
json_populate_recordset of the rows as one JSON document), by executemany elsewhere.

executemany runs the INSERT once per row: on PostgreSQL every run starts an executor and opens the table and each
of its indexes again (thirteen for cases), which costs more server time than the row itself. One INSERT of a JSON
array does that once per batch; its text does not change with the number of rows, so the server keeps it prepared,
and the whole batch is one parameter serialised by the json module's C encoder (arrays of one parameter per column
would be built value by value in Python by the driver)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Dialect, Table, text
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import TextClause


def insert_rows(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows (dicts keyed by column name, all with the same keys) into table; returns nothing."""
    if not rows:
        return
    dialect = session.get_bind().dialect
    if dialect.name != "postgresql":
        session.execute(table.insert(), list(rows))
        return
    statement = _statement(table, tuple(rows[0]), dialect)
    session.execute(statement, {"rows": json.dumps(rows, ensure_ascii=False, default=_json_value)})


def insert_tables(session: Session, tables: Sequence[tuple[Table, Sequence[dict[str, Any]]]]) -> None:
    """insert_rows into several tables, parents before children: on PostgreSQL in one statement (each earlier
    table's INSERT a data-modifying CTE of the last one's; foreign keys are checked at the statement's end), which
    saves a round trip and an executor start per table."""
    tables = [(table, rows) for table, rows in tables if rows]
    dialect = session.get_bind().dialect
    if dialect.name != "postgresql" or len(tables) < 2:
        for table, rows in tables:
            insert_rows(session, table, rows)
        return
    key = tuple((table.name, tuple(rows[0])) for table, rows in tables)
    statement = _STATEMENTS.get(key)
    if statement is None:
        inserts = [_insert_sql(table, tuple(rows[0]), dialect, f"rows{i}") for i, (table, rows) in enumerate(tables)]
        ctes = ", ".join(f"t{i} AS ({sql})" for i, sql in enumerate(inserts[:-1]))
        statement = _STATEMENTS[key] = text(f"WITH {ctes} {inserts[-1]}")
    session.execute(statement, {f"rows{i}": json.dumps(rows, ensure_ascii=False, default=_json_value)
                                for i, (_, rows) in enumerate(tables)})


def _json_value(value: Any) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is None:  # as UTCDateTime: a naive time would be read in the session's time zone
            raise ValueError("naive datetime given; CityLoop stores aware UTC timestamps only")
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot insert a {type(value).__name__} through insert_rows")


_STATEMENTS: dict[Any, TextClause] = {}  # by (table name, column names), or a tuple of those for insert_tables


def _statement(table: Table, names: tuple[str, ...], dialect: Dialect) -> TextClause:
    statement = _STATEMENTS.get((table.name, names))
    if statement is None:
        statement = _STATEMENTS[(table.name, names)] = text(_insert_sql(table, names, dialect, "rows"))
    return statement


def _insert_sql(table: Table, names: tuple[str, ...], dialect: Dialect, param: str) -> str:
    quote = dialect.identifier_preparer.quote
    columns = ", ".join(quote(table.c[name].name) for name in names)  # table.c[…]: an unknown key fails here
    return (f"INSERT INTO {quote(table.name)} ({columns}) SELECT {columns} "
            f"FROM json_populate_recordset(NULL::{quote(table.name)}, CAST(:{param} AS json))")
