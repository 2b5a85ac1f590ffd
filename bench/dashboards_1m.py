"""dashboards_1m: p95 over HTTP of the big screen (summary, markers in the viewport), the review queue, an operator's
tasks, case search and the assessment month, at 1,000,000 cases (a city's 7 years at ≈ 390 reports a day), on
SQLite and PostgreSQL. Baseline (same run, same server code, same daily rate and open work): the same endpoints at
10,000 cases (26 days of history) — the two columns side by side show whether a read grows with the history.

Sizes: DASHBOARDS_CASES (default 1,000,000), DASHBOARDS_BASE (10,000); DASHBOARDS_DBS=sqlite,postgres.
Built databases are cached (SQLite under var/bench/, PostgreSQL as database dash_<version>_<size>) for the day.
Results: bench/results/dashboards_1m.json (SQLite) and dashboards_1m_postgres.json."""

from __future__ import annotations

import os
import random
import sqlite3
import statistics
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import numpy as np
import psycopg
import shapely
from sqlalchemy import func, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _assessment_data as adata  # noqa: E402
from _http_load import build_county  # noqa: E402
from common import write_result  # noqa: E402

from cityloop.assessment.models import AssessState  # noqa: E402
from cityloop.cases.models import CaseEvent  # noqa: E402
from cityloop.catalog.models import Category  # noqa: E402
from cityloop.db import make_engine, make_session_factory  # noqa: E402
from cityloop.geo.models import UnitGrid  # noqa: E402
from cityloop.db.migrate import upgrade  # noqa: E402
from cityloop.org.models import Department, UserRole  # noqa: E402

VERSION = "v2"  # bump when the generated rows change
ROOT = Path(__file__).resolve().parent.parent
PER_DAY = 1_000_000 / (7 * 365)
REPEAT, WARM = int(os.environ.get("DASHBOARDS_REPEAT", 40)), 3
PG_BASE = os.environ.get("CITYLOOP_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
PORT = int(os.environ.get("BENCH_PORT", 18741))
OPEN_NEW = (("reported", 30), ("verifying", 5), ("accepted", 5), ("filed", 5), ("dispatched", 40), ("handled", 10),
            ("checked", 5))
OLD_END = (("closed", 95), ("rejected", 3), ("merged", 1), ("void", 1))


def _pick(rng: random.Random, table) -> str:
    return rng.choices([s for s, _ in table], [w for _, w in table])[0]


def _stage(rng: random.Random, age_days: float) -> str:
    if age_days < 1:
        return _pick(rng, OPEN_NEW)
    if age_days < 30:
        r = rng.random()
        return "dispatched" if r < .12 else "suspended" if r < .13 else "handled" if r < .14 else _pick(rng, OLD_END)
    return _pick(rng, OLD_END)


NODE_OF = {"reported": "accept", "verifying": "verify", "accepted": "file", "filed": "dispatch",
           "dispatched": "handle", "suspended": "handle", "handled": "check", "checked": "close"}


CASE_COLS = ("id", "number", "public_id", "stage", "source", "category_id", "category_code", "description", "address",
             "lon", "lat", "grid_code", "duty_grid_code", "community_code", "street_code", "district_code",
             "department_id", "node", "node_started_at", "node_due_at", "urgent", "created_at", "updated_at",
             "closed_at", "needs_ownership", "self_handled", "needs_verification", "node_urgent", "overdue",
             "rework_count", "return_count", "extension_count", "suspension_count", "wrong_dispatch_count",
             "supervise_count", "event_count", "event_hash", "send_back_count")
NODE_COLS = ("case_id", "node", "department_id", "started_at", "limit_minutes", "urgent", "due_at", "ended_at",
             "on_time", "extended_minutes")
EVENT_COLS = ("case_id", "seq", "action", "actor_name", "actor_role", "at", "to_stage", "payload", "prev_hash", "hash",
              "state_hash")
TASK_COLS = ("case_id", "kind", "duty_grid_code", "status", "created_at", "due_at")


class Writer:
    """Bulk rows straight to the driver: executemany on SQLite, COPY on PostgreSQL."""

    def __init__(self, session):
        self.session = session
        self.sqlite = session.get_bind().dialect.name == "sqlite"
        self.raw = session.connection().connection.driver_connection
        self.pending: dict[str, list[tuple]] = {}
        self.cols: dict[str, tuple[str, ...]] = {}  # in the order first added: parents before children

    def _value(self, v):
        if isinstance(v, datetime):
            return v.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f") if self.sqlite else v
        if isinstance(v, bool) and self.sqlite:
            return int(v)
        return v

    def add(self, table: str, cols: tuple[str, ...], row: tuple) -> None:
        self.cols.setdefault(table, cols)
        rows = self.pending.setdefault(table, [])
        rows.append(tuple(self._value(v) for v in row))
        if len(rows) >= 20_000:
            self.flush()

    def flush(self) -> None:
        for table, cols in self.cols.items():
            self._write(table, cols, self.pending.pop(table, []))

    def _write(self, table: str, cols: tuple[str, ...], rows: list[tuple]) -> None:
        if not rows:
            return
        if self.sqlite:
            self.raw.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})", rows)
        else:
            with self.raw.cursor().copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)


def generate(session, n: int, now: datetime, seed: int = 18) -> None:
    """n cases ending at `now` at PER_DAY a day, their handling runs, recent events, open tasks, the projection."""
    rng = random.Random(seed)
    cats = session.execute(select(Category.id, Category.code).where(Category.kind == "matter")).all()
    grids = []
    for g in session.scalars(select(UnitGrid).order_by(UnitGrid.code)):
        p = shapely.from_geojson(g.geometry).representative_point()
        grids.append((g, round(p.x, 6), round(p.y, 6)))
    depts = list(session.scalars(select(Department.id).order_by(Department.id)))
    session.commit()
    out = Writer(session)
    span = n / PER_DAY * 86400
    ages = sorted((rng.random() * span for _ in range(n)), reverse=True)  # oldest first: ids follow time
    for i, age_s in enumerate(ages, 1):
        age = timedelta(seconds=age_s)
        created = now - age
        days = age_s / 86400
        stage = _stage(rng, days)
        cat_id, cat_code = rng.choice(cats)
        g, lon, lat = rng.choice(grids)
        lon, lat = lon + rng.uniform(-.0004, .0004), lat + rng.uniform(-.0004, .0004)
        open_ = stage in NODE_OF
        dept = rng.choice(depts) if stage in ("dispatched", "suspended", "handled", "checked", "closed") else None
        started = created + timedelta(hours=min(days * 24, 2) * rng.random()) if open_ else None
        closed = min(now, created + timedelta(days=rng.uniform(.5, 6))) if stage == "closed" else None
        due = started + timedelta(days=rng.choice((1, 2, 3))) if started else None
        out.add("cases", CASE_COLS, (
            i, f"D{i:010d}", f"p{i:015d}", stage, rng.choice(("inspector", "public", "hotline")), cat_id, cat_code,
            f"演示案件 {i}", f"地址 {i}", lon, lat, g.code, g.duty_grid_code, g.community_code, g.street_code,
            g.district_code, dept, NODE_OF.get(stage), started, due, rng.random() < .05, created,
            closed or started or created, closed, False, False, False, False, False, 0, 0, 0, 0, 0, 0, 0, "", 0))
        if dept is not None:
            h0 = created + timedelta(hours=rng.uniform(1, 8))
            ended = None if stage in ("dispatched", "suspended") else min(now, h0 + timedelta(days=rng.uniform(.2, 4)))
            out.add("case_nodes", NODE_COLS, (i, "handle", dept, h0, 2880, False, h0 + timedelta(days=2), ended,
                                              None if ended is None else rng.random() < .9, 0))
        if days < 35:
            seq = 1
            for action, to, at in (("report", "reported", created),
                                   ("dispatch", "dispatched", created + timedelta(hours=2)), ("close", "closed", closed)):
                if at is None or at > now or (action == "dispatch" and dept is None):
                    continue
                out.add("case_events", EVENT_COLS, (i, seq, action, "演示", "system", at, to, "{}", "", "", ""))
                seq += 1
        if stage in ("verifying", "handled"):
            out.add("case_tasks", TASK_COLS, (i, "verify" if stage == "verifying" else "check", g.duty_grid_code,
                                              "open", started, started + timedelta(days=1)))
    out.flush()
    session.commit()
    if not out.sqlite:
        session.execute(text("SELECT setval(pg_get_serial_sequence(:t, 'id'), (SELECT max(id) FROM cases))"),
                        {"t": "cases"})
    head = session.scalar(select(func.max(CaseEvent.id))) or 0
    state = session.get(AssessState, 1) or AssessState(id=1)
    state.last_event_id, state.refreshed_at = head, now  # the projection rows below stand for these events
    session.add(state)
    session.commit()
    _projection(session, n, now, grids, depts)


def _projection(session, n: int, now: datetime, grids, depts) -> None:
    """The assessment projection of n cases spread like the cases (the shares of the assessment benchmark)."""
    cols = adata.generate(n)
    rng = np.random.default_rng(5)
    start = int(now.timestamp() - n / PER_DAY * 86400)
    cols["assess_ts"] = np.sort(rng.integers(start, int(now.timestamp()), n))
    cols["created_ts"] = cols["assess_ts"] - 4 * 3600
    cols["pending_ts"] = np.where(cols["pending_ts"] > 0, np.maximum(cols["pending_ts"], cols["assess_ts"]), 0)
    codes = np.array([int(g.code) for g, _, _ in grids], dtype=np.int64)
    cols["grid"] = codes[cols["grid"] % len(codes)]
    ids = np.array(depts, dtype=np.int64)
    cols["department_id"] = np.where(cols["department_id"] > 0, ids[cols["department_id"] % len(ids)], 0)
    cols["return_department_id"] = np.where(cols["return_department_id"] > 0,
                                            ids[cols["return_department_id"] % len(ids)], 0)
    people = {}
    for role in ("inspector", "operator", "shift_lead", "dispatcher"):
        people[role] = np.array(list(session.scalars(select(UserRole.user_id).where(UserRole.role == role))) or [0])
    for col, role in (("reporter_id", "inspector"), ("verifier_id", "inspector"), ("checker_id", "inspector"),
                      ("operator_id", "operator"), ("filer_id", "shift_lead"), ("closer_id", "shift_lead"),
                      ("dispatcher_id", "dispatcher")):
        pool = people[role]
        cols[col] = np.where(cols[col] > 0, pool[cols[col] % len(pool)], 0)
    raw = session.connection().connection.driver_connection
    if session.get_bind().dialect.name == "sqlite":
        raw.executemany(f"INSERT INTO assess_case_stats ({', '.join(adata.COLUMNS)}) "
                        f"VALUES ({', '.join('?' * len(adata.COLUMNS))})", adata.rows(cols))
    else:
        with raw.cursor().copy(f"COPY assess_case_stats ({', '.join(adata.COLUMNS)}) FROM STDIN") as copy:
            rows = adata.rows(cols, hex_bytes=True)
            for i in range(0, len(rows), 100_000):
                copy.write("".join("\t".join(map(str, r)) + "\n" for r in rows[i:i + 100_000]))
    session.commit()


def database(kind: str, n: int, now: datetime) -> tuple[str, float]:
    """The URL of a built database of n cases (cached for the day) and the seconds it took to build (0 if cached)."""
    key = f"{VERSION}_{n}_{now:%Y%m%d}"
    if kind == "sqlite":
        folder = ROOT / "var" / "bench"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"dashboards_{key}.db"
        if path.exists():
            return f"sqlite:///{path}", 0.0
        for old in folder.glob(f"dashboards_{VERSION}_{n}_*.db*"):
            old.unlink()
        tmp = folder / f"building_{key}.db"
        for f in folder.glob(f"building_{key}.db*"):
            f.unlink()
        url, t = f"sqlite:///{tmp}", time.perf_counter()
        _build(url, n, now)
        raw = sqlite3.connect(tmp, isolation_level=None)
        raw.execute("ANALYZE")
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        raw.close()
        tmp.rename(path)
        return f"sqlite:///{path}", time.perf_counter() - t
    base = PG_BASE.replace("postgresql+psycopg://", "postgresql://").rsplit("/", 1)[0]
    name = f"dash_{key}"
    url = f"postgresql+psycopg://{base.split('://', 1)[1]}/{name}"
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            with psycopg.connect(f"{base}/{name}") as db:
                if db.execute("SELECT to_regclass('bench_built')").fetchone()[0]:
                    return url, 0.0
            conn.execute(f'DROP DATABASE "{name}"')
        for (old,) in conn.execute("SELECT datname FROM pg_database WHERE datname LIKE %s",
                                   (f"dash_{VERSION}_{n}_%",)).fetchall():
            conn.execute(f'DROP DATABASE "{old}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    t = time.perf_counter()
    _build(url, n, now)
    with psycopg.connect(f"{base}/{name}", autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        conn.execute("CREATE TABLE bench_built (at timestamptz)")
    return url, time.perf_counter() - t


def _build(url: str, n: int, now: datetime) -> None:
    env = {**os.environ, "CITYLOOP_DATABASE_URL": url, "CITYLOOP_DEMO": "1"}
    build_county(url, env)  # migrated, with the demo county's catalog, grids, departments and staff
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        generate(session, n, now)
    engine.dispose()


def endpoints(period: str) -> list[tuple[str, str, str]]:
    """(name, user, path) of every read measured."""
    return [("screen_summary", "leader1", "/api/v1/screen/summary"),
            ("screen_markers", "leader1", "/api/v1/screen/markers?bbox=117.5,31.9,119.0,33.0&zoom=11"),
            ("review_queue", "operator1", "/api/v1/channels/review"),
            ("tasks", "operator1", "/api/v1/tasks"),
            ("case_list", "dispatcher1", "/api/v1/cases?page=1&size=20"),
            ("case_search_number", "dispatcher1", "/api/v1/cases?number=D00000123"),
            ("case_search_filtered", "dispatcher1", "/api/v1/cases?stage=dispatched&overdue=true&page=1&size=20"),
            ("assessment_month", "leader1", f"/api/v1/assessment/department?period={period}")]


def _run_ns(pid: int) -> int:
    """CPU time (ns) a process's live threads have run, from the scheduler's per-thread counters."""
    total = 0
    for stat in Path(f"/proc/{pid}/task").glob("*/schedstat"):
        try:
            total += int(stat.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            pass  # the thread ended meanwhile
    return total


def _server_pids(proc: subprocess.Popen, url: str) -> list[int]:
    """The server and, on PostgreSQL, the backends serving its database (their CPU is the read's too)."""
    if not url.startswith("postgresql"):
        return [proc.pid]
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as db:
        rows = db.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                          (name,)).fetchall()
    return [proc.pid, *(r[0] for r in rows)]


def measure(url: str, period: str) -> dict[str, dict]:
    """Serve the database (one uvicorn worker) and time each read REPEAT times after WARM warm-up requests; with
    each, the CPU time the server (and its PostgreSQL backends) spent on it, which a busy machine does not inflate."""
    env = {**os.environ, "CITYLOOP_DATABASE_URL": url, "CITYLOOP_DEMO": "1", "CITYLOOP_SCHEDULER_IN_SERVER": "false",
           "CITYLOOP_MEDIA_DIR": "/tmp/cl-bench-media-dash"}
    upgrade(url)  # a cached database gets any newer migration (new indexes)
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "cityloop.app:create_app", "--factory", "--port",
                             str(PORT), "--log-level", "warning", "--no-access-log"], env=env)
    out: dict[str, dict] = {}
    try:
        base = f"http://127.0.0.1:{PORT}"
        for _ in range(300):
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        tokens: dict[str, str] = {}
        with httpx.Client(base_url=base, timeout=60) as client:
            for name, user, path in endpoints(period):
                if user not in tokens:
                    tokens[user] = client.post("/api/v1/auth/token", data={"username": user, "password": "demo"}
                                               ).json()["access_token"]
                headers = {"Authorization": f"Bearer {tokens[user]}"}
                times, cpus, size, pids, first = [], [], 0, [proc.pid], 0.0
                for i in range(WARM + REPEAT):
                    if i == WARM:
                        pids = _server_pids(proc, url)  # the pool's connections are open after the warm-up
                    c = sum(map(_run_ns, pids))
                    t = time.perf_counter()
                    r = client.get(path, headers=headers)
                    ms = (time.perf_counter() - t) * 1000
                    cpu = (sum(map(_run_ns, pids)) - c) / 1e6
                    r.raise_for_status()
                    size = len(r.content)
                    if i == 0:
                        first = ms  # cold: reported apart, not in the percentiles (a polled screen is warm)
                    if i >= WARM:
                        times.append(ms)
                        cpus.append(cpu)
                times.sort()
                cpus.sort()
                p95 = min(len(times) - 1, int(len(times) * .95))
                out[name] = {"p50_ms": round(statistics.median(times), 1), "p95_ms": round(times[p95], 1),
                             "cpu_p50_ms": round(statistics.median(cpus), 1), "cpu_p95_ms": round(cpus[p95], 1),
                             "first_ms": round(first, 1), "bytes": size}
                print(f"  {name}: {out[name]}", flush=True)
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    return out


def main() -> None:
    n, small = int(os.environ.get("DASHBOARDS_CASES", 1_000_000)), int(os.environ.get("DASHBOARDS_BASE", 10_000))
    kinds = os.environ.get("DASHBOARDS_DBS", "sqlite,postgres").split(",")
    pinned = os.environ.get("DASHBOARDS_NOW")  # e.g. 2026-12-03T23:40:00+00:00: reuse a day's built databases later
    now = datetime.fromisoformat(pinned) if pinned else datetime.now(timezone.utc).replace(microsecond=0)
    first = now.replace(day=1)
    period = f"{(first - timedelta(days=1)):%Y-%m}"  # last month: the assessment page's default
    params: dict = {"cases": n, "baseline_cases": small, "per_day": round(PER_DAY, 1), "repeat": REPEAT,
                    "period": period, "target_p95_ms": 200}
    for kind in kinds:  # one result per database, each with its own baseline: bench/results/dashboards_1m[_postgres]
        results = {}
        for size in (small, n):
            url, built = database(kind, size, now)
            print(f"{kind} {size} cases: built in {built:.0f} s" if built else f"{kind} {size} cases: cached", flush=True)
            results[size] = {"build_s": round(built, 1), "reads": measure(url, period)}
        worst = max(r["p95_ms"] for r in results[n]["reads"].values())
        worst_base = max(r["p95_ms"] for r in results[small]["reads"].values())
        write_result("dashboards_1m" + ("" if kind == "sqlite" else "_postgres"), "ms", worst, False,
                     f"worst p95 at {small} cases", worst_base,
                     params | {"at_cases": results[n], "at_baseline": results[small]},
                     "sqlite" if kind == "sqlite" else "postgresql")


if __name__ == "__main__":
    main()
