"""db.bulk.insert_rows: a batch in one statement on PostgreSQL (a JSON document of the rows), executemany on
SQLite — every type the intake writes comes back exactly as given."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import Boolean, Column, Float, Integer, MetaData, String, Table, Text, select

from cityloop.db import JSONType, UTCDateTime
from cityloop.db.bulk import insert_rows

ROWS_TABLE = Table("bulk_probe", MetaData(), Column("id", Integer, primary_key=True), Column("name", String(24)),
                   Column("note", Text), Column("at", UTCDateTime), Column("x", Float), Column("flag", Boolean),
                   Column("payload", JSONType), Column("n", Integer, default=None))


def test_rows_come_back_exactly(session):
    ROWS_TABLE.create(session.connection())
    at = datetime(2026, 11, 23, 9, 0, 0, 123456, tzinfo=timezone(timedelta(hours=8)))
    rows = [dict(id=1, name="井盖", note='引号 "x" \\ 换行\n', at=at, x=118.457551234567, flag=True,
                 payload={"source": "inspector", "list": [1, 2.5, None], "名": "监督员01"}, n=None),
            dict(id=2, name=None, note="", at=None, x=-0.1, flag=False, payload=None, n=7)]
    insert_rows(session, ROWS_TABLE, rows)
    got = [dict(r._mapping) for r in session.execute(select(ROWS_TABLE).order_by(ROWS_TABLE.c.id))]
    assert got[0] == rows[0] | {"at": at.astimezone(timezone.utc)}
    assert got[1] == rows[1]
    insert_rows(session, ROWS_TABLE, [])  # nothing to insert: no statement


def test_a_naive_time_is_refused(session):
    ROWS_TABLE.create(session.connection())
    with pytest.raises(Exception, match="naive datetime"):
        insert_rows(session, ROWS_TABLE, [dict(id=1, at=datetime(2026, 11, 23, 9))])
