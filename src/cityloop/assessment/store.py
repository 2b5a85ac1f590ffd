"""The projection table's reads and writes: case histories in, rows out, and a period's rows as numpy columns.

A period's columns are read without building a Python object per value: SQLite returns each column as one
comma-joined text (group_concat) that numpy parses; PostgreSQL streams COPY … (FORMAT BINARY), read as a
fixed-width record array. Both give the same arrays; this is what keeps a million-case month inside a second."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import Connection, delete, insert, select
from sqlalchemy.orm import Session

from cityloop.assessment.domain import CaseStats, Ev, Facts, Run
from cityloop.assessment.engine import FETCH, empty_columns
from cityloop.assessment.figures import NEVER, NODE_CODES, pack
from cityloop.assessment.models import CaseStat
from cityloop.cases.api import Case, CaseEvent, CaseNode, CaseTask

TABLE = CaseStat.__table__
TABLE_NAME = CaseStat.__tablename__
# The packed copy of the month scan's columns: 4 × int64 then 9 × int32, little-endian (68 bytes a case).
PACKED = np.dtype([(c, "<i8") for c in ("flags", "counts", "pending_ts", "grid")] +
                  [(c, "<i4") for c in ("department_id", "return_department_id", "reporter_id", "operator_id",
                                        "verifier_id", "filer_id", "dispatcher_id", "checker_id", "closer_id")])
PACKED_NAMES: tuple[str, ...] = PACKED.names or ()


def packed(columns: Mapping[str, Any]) -> list[bytes]:
    """The packed value of each case from its columns (arrays or one-element lists)."""
    n = len(columns["flags"])
    rows = np.zeros(n, dtype=PACKED)
    for name in PACKED_NAMES:
        rows[name] = columns[name]
    raw = rows.tobytes()
    size = PACKED.itemsize
    return [raw[i * size:(i + 1) * size] for i in range(n)]


def histories(session: Session, case_ids: list[int]) -> list[tuple[Facts, list[Ev], list[Run], dict[str, Any]]]:
    """Everything the counters are derived from, for a batch of cases: facts, events, node runs, case columns."""
    cases = session.execute(select(Case.id, Case.source, Case.grid_code, Case.category_code, Case.created_at,
                                   Case.event_count).where(Case.id.in_(case_ids))).all()
    events: dict[int, list[Ev]] = defaultdict(list)
    for cid, action, actor, at, to_stage, payload in session.execute(
            select(CaseEvent.case_id, CaseEvent.action, CaseEvent.actor_id, CaseEvent.at, CaseEvent.to_stage,
                   CaseEvent.payload).where(CaseEvent.case_id.in_(case_ids)).order_by(CaseEvent.case_id,
                                                                                      CaseEvent.seq)):
        events[cid].append(Ev(action, actor, at, to_stage, payload or {}))
    runs: dict[int, list[Run]] = defaultdict(list)
    for row in session.execute(select(CaseNode.case_id, CaseNode.node, CaseNode.due_at, CaseNode.ended_at,
                                      CaseNode.on_time, CaseNode.department_id, CaseNode.limit_minutes,
                                      CaseNode.extended_minutes, CaseNode.urgent)
                               .where(CaseNode.case_id.in_(case_ids)).order_by(CaseNode.case_id, CaseNode.id)):
        runs[row[0]].append(Run(*row[1:]))
    tasks: dict[int, dict[str, int | None]] = defaultdict(dict)
    for cid, kind, assignee in session.execute(select(CaseTask.case_id, CaseTask.kind, CaseTask.assignee_id)
                                               .where(CaseTask.case_id.in_(case_ids), CaseTask.status == "open")):
        tasks[cid][kind] = assignee
    out: list[tuple[Facts, list[Ev], list[Run], dict[str, Any]]] = []
    for cid, source, grid, category, created, seq in cases:
        facts = Facts(cid, source, grid, seq or 0, tasks.get(cid, {}))
        out.append((facts, events[cid], runs[cid], {"category_code": category, "created_at": created}))
    return out


def _ts(value: datetime) -> int:
    return int(value.timestamp())


def row_of(stats: CaseStats, source: str, category_code: str, created_at: datetime) -> dict[str, Any]:
    """The table row of a case's stats."""
    flags, counts = pack(stats.counters | {"open_node": stats.open_node})
    if stats.suspended and stats.open_node == NODE_CODES["handle"]:
        pending = NEVER
    else:
        pending = _ts(stats.pending_at) if stats.pending_at else 0
    row: dict[str, Any] = {"case_id": stats.case_id, "assess_ts": _ts(stats.assess_at), "last_seq": stats.last_seq,
           "pending_ts": pending, "flags": flags, "counts": counts,
           **{k: v or 0 for k, v in stats.objects.items()}, "source": source, "category_code": category_code,
           "created_ts": _ts(created_at)}
    row["packed"] = packed({name: [row[name]] for name in PACKED_NAMES})[0]
    return row


def replace(session: Session, rows: list[dict[str, Any]]) -> None:
    """Write rows, replacing the cases' previous rows (their period may have moved)."""
    if not rows:
        return
    session.execute(delete(CaseStat).where(CaseStat.case_id.in_([r["case_id"] for r in rows])))
    session.execute(insert(CaseStat), rows)


def fetch(session: Session, start_ts: int, end_ts: int, columns: tuple[str, ...] = FETCH,
          within: dict[str, tuple[int, int]] | None = None) -> dict[str, np.ndarray]:
    """The projection's columns (int64 arrays) for cases with assess_ts in [start_ts, end_ts), optionally only rows
    whose columns lie in given inclusive integer ranges; ordered by (assess_ts, case_id) on SQLite only."""
    for name in (*columns, *(within or {})):
        if name not in TABLE.c:
            raise KeyError(name)
    cond = f"assess_ts >= {int(start_ts)} AND assess_ts < {int(end_ts)}"
    cond += "".join(f" AND {name} BETWEEN {int(lo)} AND {int(hi)}" for name, (lo, hi) in (within or {}).items())
    conn = session.connection()
    if set(columns) <= set(PACKED_NAMES):
        return _fetch_packed(conn, columns, cond)
    if conn.dialect.name == "postgresql":
        return _fetch_postgres(conn, columns, cond)
    sql = f"SELECT {', '.join(f'group_concat({c})' for c in columns)} FROM {TABLE_NAME} WHERE {cond}"
    texts = conn.exec_driver_sql(sql).one()
    if texts[0] is None:
        return {c: v[:0] for c, v in empty_columns().items() if c in columns}
    return {c: np.fromstring(t, sep=",", dtype=np.int64) for c, t in zip(columns, texts)}


def _fetch_packed(conn: Connection, columns: tuple[str, ...], cond: str) -> dict[str, np.ndarray]:
    """The packed copies of a period's cases joined into one value: hex text on SQLite, bytea on PostgreSQL."""
    if conn.dialect.name == "postgresql":
        raw: Any = conn.connection.driver_connection  # a psycopg connection (untyped)
        with raw.cursor(binary=True) as cur:
            cur.execute(f"SELECT string_agg(packed, ''::bytea) FROM {TABLE_NAME} WHERE {cond}")
            blob = cur.fetchone()[0] or b""
    else:
        text = conn.exec_driver_sql(f"SELECT group_concat(hex(packed), '') FROM {TABLE_NAME} WHERE {cond}").scalar()
        blob = bytes.fromhex(text or "")
    rows = np.frombuffer(blob, dtype=PACKED)
    return {c: np.ascontiguousarray(rows[c]) for c in columns}  # summing strided fields would miss the cache


def _fetch_postgres(conn: Connection, columns: tuple[str, ...], cond: str) -> dict[str, np.ndarray]:
    sql = (f"COPY (SELECT {', '.join(f'{c}::int8' for c in columns)} FROM {TABLE_NAME} WHERE {cond}) "
           "TO STDOUT (FORMAT BINARY)")
    raw: Any = conn.connection.driver_connection  # a psycopg connection (untyped)
    with raw.cursor() as cur, cur.copy(sql) as copy:
        data = b"".join(bytes(chunk) for chunk in copy)
    # Header: 11-byte signature, 4-byte flags, 4-byte extension length (+ extension); trailer: int16 -1.
    skip = 19 + int.from_bytes(data[15:19], "big")
    record = np.dtype([("n", ">i2")] + [f for i in range(len(columns)) for f in ((f"l{i}", ">i4"), (f"v{i}", ">i8"))])
    body = np.frombuffer(data, dtype=record, offset=skip, count=(len(data) - skip - 2) // record.itemsize)
    return {c: body[f"v{i}"].astype(np.int64) for i, c in enumerate(columns)}
