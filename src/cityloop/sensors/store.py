"""Time-series storage: bulk inserts, monthly partitions (PostgreSQL), rollups, retention, chart series.

Readings are written in batches: SQLite `INSERT OR IGNORE` executemany; PostgreSQL COPY into a temporary table,
then one `INSERT … SELECT … ON CONFLICT DO NOTHING` (COPY alone cannot skip a re-sent reading). Intervals a station
reports (HJ 212 minute, hour, day data) are rollups marked `reported`; the rollup job never overwrites them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import CursorResult, text
from sqlalchemy.orm import Session

from cityloop.sensors.models import VALUE_COLUMNS

if TYPE_CHECKING:
    from cityloop.sensors.readings import Interval

ROLLUP_STEPS = (60, 3600)
PART_SCHEMA = "sensor_partitions"
_COLS = ("device_id", "ts") + VALUE_COLUMNS + ("flags",)


def month_bounds(ts_ms: int) -> tuple[str, int, int]:
    """(partition suffix YYYYMM, first ms, end ms) of the UTC month holding ts_ms."""
    when = datetime.fromtimestamp(ts_ms / 1000, timezone.utc)
    start = datetime(when.year, when.month, 1, tzinfo=timezone.utc)
    end = datetime(when.year + (when.month == 12), when.month % 12 + 1, 1, tzinfo=timezone.utc)
    return f"{when.year:04d}{when.month:02d}", int(start.timestamp() * 1000), int(end.timestamp() * 1000)


def ensure_partitions(session: Session, ts_values: Iterable[float]) -> None:
    """Create the monthly partitions these timestamps need (PostgreSQL; a no-op on SQLite)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    months = {month_bounds(int(ts))[0]: int(ts) for ts in ts_values}
    for suffix, ts in months.items():
        name = f"{PART_SCHEMA}.sensor_readings_p{suffix}"
        if session.execute(text("SELECT to_regclass(:n)"), {"n": name}).scalar() is None:
            _, start, end = month_bounds(ts)
            session.execute(text(f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF sensor_readings "
                                 f"FOR VALUES FROM ({start}) TO ({end})"))


def insert_readings(session: Session, rows: list[tuple[Any, ...]]) -> int:
    """Insert (device_id, ts_ms, *VALUE_COLUMNS, flags JSON text) rows, skipping ones already stored; returns how
    many were new."""
    if not rows:
        return 0
    conn = session.connection()
    if conn.dialect.name == "sqlite":
        marks = ",".join("?" * len(_COLS))
        result = conn.exec_driver_sql(f"INSERT OR IGNORE INTO sensor_readings ({','.join(_COLS)}) VALUES ({marks})",
                                      rows)
        return result.rowcount
    ensure_partitions(session, {r[1] for r in rows})
    raw: Any = conn.connection.dbapi_connection  # psycopg: COPY is not in the DB-API
    with raw.cursor() as cur:
        cur.execute("CREATE TEMP TABLE IF NOT EXISTS sensor_readings_in "
                    "(LIKE sensor_readings INCLUDING DEFAULTS) ON COMMIT DELETE ROWS")
        with cur.copy(f"COPY sensor_readings_in ({','.join(_COLS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cur.execute(f"INSERT INTO sensor_readings ({','.join(_COLS)}) SELECT {','.join(_COLS)} "
                    "FROM sensor_readings_in ON CONFLICT DO NOTHING")
        inserted: int = cur.rowcount
        cur.execute("TRUNCATE sensor_readings_in")  # also inside an enclosing transaction (tests)
    return inserted


def rollup(session: Session, now_ms: int, grace_ms: int = 90_000, lookback_buckets: int = 2,
           first_ms: int | None = None) -> int:
    """Aggregate raw readings of completed minutes and hours into sensor_rollups (idempotent upserts); the last
    few buckets are recomputed so late readings count. Returns the rows written."""
    written = 0
    for step in ROLLUP_STEPS:
        step_ms = step * 1000
        end = (now_ms - grace_ms) // step_ms * step_ms
        mark = _counter(session, f"rollup:{step}")
        start = mark - lookback_buckets * step_ms if mark else (first_ms if first_ms is not None else end - 86_400_000)
        if end <= start:
            continue
        for metric in VALUE_COLUMNS:
            written += cast("CursorResult[Any]", session.execute(text(
                f"INSERT INTO sensor_rollups (device_id, metric, step_s, bucket, n, avg, min, max) "
                f"SELECT device_id, '{metric}', {step}, (ts / {step_ms}) * {step_ms}, count({metric}), "
                f"avg({metric}), min({metric}), max({metric}) FROM sensor_readings "
                f"WHERE ts >= :a AND ts < :b AND {metric} IS NOT NULL GROUP BY device_id, ts / {step_ms} "
                "ON CONFLICT (device_id, metric, step_s, bucket) DO UPDATE SET n = excluded.n, avg = excluded.avg, "
                "min = excluded.min, max = excluded.max WHERE sensor_rollups.reported IS NULL"),
                {"a": start, "b": end})).rowcount
        set_counter(session, f"rollup:{step}", end)
    return written


def upsert_intervals(session: Session, intervals: Iterable[Interval]) -> int:
    """Store station-reported intervals (readings.Interval) as rollups marked with their data flag (N, or the
    flag of a value marked abnormal); a re-sent interval replaces the stored one. Returns the rows written."""
    rows = []
    for i in intervals:
        bucket = int(round(i.ts * 1000))
        rows += [{"d": i.device_id, "m": k, "s": i.step_s, "b": bucket, "avg": avg, "lo": lo, "hi": hi, "r": "N"}
                 for k, (avg, lo, hi) in i.values.items()]
        rows += [{"d": i.device_id, "m": k, "s": i.step_s, "b": bucket, "avg": avg, "lo": lo, "hi": hi, "r": flag}
                 for k, (flag, avg, lo, hi) in (i.flags or {}).items()]
    if rows:
        session.execute(text(
            "INSERT INTO sensor_rollups (device_id, metric, step_s, bucket, n, avg, min, max, reported) "
            "VALUES (:d, :m, :s, :b, 1, :avg, :lo, :hi, :r) ON CONFLICT (device_id, metric, step_s, bucket) DO UPDATE "
            "SET n = 1, avg = excluded.avg, min = excluded.min, max = excluded.max, reported = excluded.reported"), rows)
    return len(rows)


def retention(session: Session, now_ms: int, raw_days: int, rollup_days: int) -> int:
    """Drop raw readings older than raw_days (whole partitions on PostgreSQL) and rollups older than rollup_days."""
    cut = now_ms - raw_days * 86_400_000
    dropped = 0
    if session.get_bind().dialect.name == "postgresql":
        names = session.execute(text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'sensor_readings'")).scalars().all()
        for name in names:
            suffix = name.rsplit("_p", 1)[-1]
            if suffix.isdigit() and month_bounds_of(suffix)[1] <= cut:
                session.execute(text(f"DROP TABLE {PART_SCHEMA}.{name}"))
                dropped += 1
    else:
        dropped = cast("CursorResult[Any]", session.execute(text("DELETE FROM sensor_readings WHERE ts < :c"),
                                                            {"c": cut})).rowcount
    session.execute(text("DELETE FROM sensor_rollups WHERE bucket < :c"),
                    {"c": now_ms - rollup_days * 86_400_000})
    return dropped


def month_bounds_of(suffix: str) -> tuple[int, int]:
    """(first ms, end ms) of the month named YYYYMM."""
    year, month = int(suffix[:4]), int(suffix[4:])
    return month_bounds(int(datetime(year, month, 1, tzinfo=timezone.utc).timestamp() * 1000))[1:]


def series(session: Session, device_id: int, metric: str, start_ms: int, end_ms: int, step: int) -> list[list[float]]:
    """Chart points [ts_ms, value] (step 0: raw) or [bucket_ms, avg, min, max] (step 60 or 3600): stored
    rollups up to the rollup watermark, computed from raw readings after it."""
    if metric not in VALUE_COLUMNS:
        raise ValueError(metric)
    args = {"d": device_id, "a": start_ms, "b": end_ms}
    if not step:
        rows = session.execute(text(f"SELECT ts, {metric} FROM sensor_readings WHERE device_id = :d AND ts >= :a "
                                    f"AND ts < :b AND {metric} IS NOT NULL ORDER BY ts LIMIT 20000"), args)
        return [[int(t), float(v)] for t, v in rows]
    step_ms = step * 1000
    mark = min(max(_counter(session, f"rollup:{step}"), start_ms), end_ms)
    valid = "(reported IS NULL OR reported = 'N')"
    stored = session.execute(text(
        "SELECT bucket, avg, min, max FROM sensor_rollups WHERE device_id = :d AND metric = :m AND step_s = :s "
        f"AND bucket >= :a AND bucket < :b AND {valid} ORDER BY bucket"),
        {**args, "m": metric, "s": step, "b": mark}).all()
    fresh = {b: (b, a, lo, hi) for b, a, lo, hi in session.execute(text(
        f"SELECT (ts / {step_ms}) * {step_ms} AS bucket, avg({metric}), min({metric}), max({metric}) "
        f"FROM sensor_readings WHERE device_id = :d AND ts >= :a AND ts < :b AND {metric} IS NOT NULL "
        f"GROUP BY ts / {step_ms} ORDER BY 1"), {**args, "a": mark})}
    fresh.update((row[0], tuple(row)) for row in session.execute(text(  # what stations reported wins
        "SELECT bucket, avg, min, max FROM sensor_rollups WHERE device_id = :d AND metric = :m AND step_s = :s "
        "AND bucket >= :a AND bucket < :b AND reported = 'N'"), {**args, "m": metric, "s": step, "a": mark}))
    return [[int(b), round(float(a), 3), float(lo), float(hi)]
            for b, a, lo, hi in [*stored, *(fresh[k] for k in sorted(fresh))]]


def _counter(session: Session, name: str) -> int:
    value: int = session.execute(text("SELECT value FROM sensor_counters WHERE name = :n"), {"n": name}).scalar() or 0
    return value


def set_counter(session: Session, name: str, value: int) -> None:
    """Set a counter (a job watermark)."""
    session.execute(text("INSERT INTO sensor_counters (name, value) VALUES (:n, :v) "
                         "ON CONFLICT (name) DO UPDATE SET value = excluded.value"), {"n": name, "v": value})


def add_counters(session: Session, deltas: dict[str, int]) -> None:
    """Add to counters (accepted, stored, rejected:<reason> …) in one statement per counter."""
    for name, delta in deltas.items():
        if delta:
            session.execute(text("INSERT INTO sensor_counters (name, value) VALUES (:n, :v) "
                                 "ON CONFLICT (name) DO UPDATE SET value = sensor_counters.value + excluded.value"),
                            {"n": name, "v": delta})


def counters(session: Session) -> dict[str, int]:
    """Every counter."""
    return dict(session.execute(text("SELECT name, value FROM sensor_counters ORDER BY name")).all())
