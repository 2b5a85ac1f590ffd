"""db.bulk.insert_rows: a batch in one statement on PostgreSQL (a JSON document of the rows), executemany on
SQLite — every type the intake writes comes back exactly as given; insert_tables: parents and children together
(one statement on PostgreSQL), foreign keys still checked."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import Boolean, Column, Float, ForeignKey, Integer, MetaData, String, Table, Text, func, select
from sqlalchemy.exc import IntegrityError

from cityloop.db import JSONType, UTCDateTime
from cityloop.db.bulk import insert_rows, insert_tables

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


FAMILY = MetaData()
PARENTS = Table("bulk_parent", FAMILY, Column("id", Integer, primary_key=True), Column("name", String(24)))
CHILDREN = Table("bulk_child", FAMILY, Column("id", Integer, primary_key=True),
                 Column("parent_id", Integer, ForeignKey("bulk_parent.id"), nullable=False), Column("at", UTCDateTime))


def test_parents_and_children_go_in_together_and_a_child_without_its_parent_is_refused(session):
    FAMILY.create_all(session.connection())
    at = datetime(2026, 12, 5, 8, 0, tzinfo=timezone.utc)
    insert_tables(session, [(PARENTS, [dict(id=1, name="案件一"), dict(id=2, name="案件二")]),
                            (CHILDREN, [dict(id=10, parent_id=1, at=at), dict(id=11, parent_id=2, at=at)]),
                            (CHILDREN, [])])  # an empty table is left out
    got = session.execute(select(CHILDREN.c.id, PARENTS.c.name, CHILDREN.c.at).join(PARENTS)
                          .order_by(CHILDREN.c.id)).all()
    assert [tuple(r) for r in got] == [(10, "案件一", at), (11, "案件二", at)]
    savepoint = session.begin_nested()
    with pytest.raises(IntegrityError):
        insert_tables(session, [(PARENTS, [dict(id=3, name="案件三")]), (CHILDREN, [dict(id=12, parent_id=4, at=at)])])
    savepoint.rollback()
    assert session.scalar(select(func.count()).select_from(PARENTS)) == 2  # the whole batch was refused
