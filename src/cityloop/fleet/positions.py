"""Position storage: bulk inserts that ignore re-sent positions, daily partitions on PostgreSQL (created on
demand in schema fleet_parts, dropped whole by retention), plain rows on SQLite, and track reads."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, cast

import numpy as np
from sqlalchemy import CursorResult, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

DAY = 86400
COLUMNS = ("vehicle_id", "t", "lon", "lat", "speed", "heading", "alarm", "status", "flags")


def _partition(day: int) -> str:
    return "fleet_positions_" + datetime.fromtimestamp(day * DAY, timezone.utc).strftime("%Y%m%d")


def ensure_partitions(session: Session, days: set[int]) -> None:
    """Create the daily partitions (UTC days) that positions of these days need (PostgreSQL only).

    No process-wide cache: a partition made in a transaction that later rolls back must be made again."""
    for day in sorted(days):
        name = _partition(day)
        if session.execute(text(f"SELECT to_regclass('fleet_parts.{name}')")).scalar() is not None:
            continue
        try:
            with session.begin_nested():  # another writer may create it at the same moment
                session.execute(text(f"CREATE TABLE IF NOT EXISTS fleet_parts.{name} PARTITION OF fleet_positions "
                                     f"FOR VALUES FROM ({day * DAY}) TO ({(day + 1) * DAY})"))
        except DBAPIError:
            if session.execute(text(f"SELECT to_regclass('fleet_parts.{name}')")).scalar() is None:
                raise


def store(session: Session, rows: dict[str, np.ndarray]) -> int:
    """Insert positions (column arrays of COLUMNS; t in whole UNIX seconds); re-sent ones are skipped."""
    n = len(rows["t"])
    if n == 0:
        return 0
    if session.get_bind().dialect.name == "postgresql":
        ensure_partitions(session, set(np.unique(rows["t"] // DAY).tolist()))
        session.execute(text(
            "INSERT INTO fleet_positions (vehicle_id, t, lon, lat, speed, heading, alarm, status, flags) "
            "SELECT * FROM unnest(CAST(:v AS integer[]), CAST(:t AS bigint[]), CAST(:lon AS float8[]), "
            "CAST(:lat AS float8[]), CAST(:speed AS float8[]), CAST(:heading AS smallint[]), "
            "CAST(:alarm AS bigint[]), CAST(:status AS bigint[]), CAST(:flags AS smallint[])) "
            "ON CONFLICT DO NOTHING"),
            {"v": rows["vehicle_id"].tolist(), "t": rows["t"].tolist(), "lon": rows["lon"].tolist(),
             "lat": rows["lat"].tolist(), "speed": rows["speed"].tolist(), "heading": rows["heading"].tolist(),
             "alarm": rows["alarm"].tolist(), "status": rows["status"].tolist(), "flags": rows["flags"].tolist()})
    else:
        data = list(zip(*(rows[c].tolist() for c in COLUMNS)))
        session.connection().exec_driver_sql(
            "INSERT OR IGNORE INTO fleet_positions (vehicle_id, t, lon, lat, speed, heading, alarm, status, flags) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", data)
    return n


def drop_older_than(session: Session, cutoff: float) -> int:
    """Retention: drop whole days before cutoff (PostgreSQL) or delete the rows (SQLite); returns days/rows."""
    if session.get_bind().dialect.name != "postgresql":
        deleted = cast(CursorResult[Any], session.execute(text("DELETE FROM fleet_positions WHERE t < :c"),
                                                          {"c": int(cutoff)}))
        return deleted.rowcount
    parts = session.execute(text(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE i.inhparent = 'fleet_positions'::regclass "
        "AND n.nspname = 'fleet_parts'")).scalars().all()
    keep_from = _partition(int(cutoff // DAY))
    dropped = [p for p in parts if p < keep_from]
    for name in dropped:
        session.execute(text(f"DROP TABLE fleet_parts.{name}"))
    return len(dropped)


_TRACK = text("SELECT t, lon, lat, speed, heading, flags FROM fleet_positions "
              "WHERE vehicle_id = :v AND t >= :t0 AND t <= :t1 ORDER BY t LIMIT :n")


def track(session: Session, vehicle_id: int, t0: float, t1: float, limit: int = 200_000) -> np.ndarray:
    """A vehicle's positions in [t0, t1] by time: rows of (t, lon, lat, speed, heading, flags)."""
    # A fixed statement: every violation's evidence reads a track, and building an ORM select per call cost as
    # much as the query.
    rows = session.execute(_TRACK, {"v": vehicle_id, "t0": int(t0), "t1": int(t1), "n": limit}).all()
    # As tuples: numpy probes a Row for array attributes, and each miss raises inside SQLAlchemy.
    return np.array([tuple(r) for r in rows], dtype=float).reshape(-1, 6)
