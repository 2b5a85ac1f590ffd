"""Shared by assessment_month_sqlite / assessment_month_postgres: a million cases of one month as projection rows
with realistic shares (on time ~90 %, rework ~10 %, returns, 挂账, open and overdue cases), the objects they name,
the timed monthly assessment (every kind) and the pandas baseline doing the same sums on the same rows."""

from __future__ import annotations

import statistics
import time
from datetime import datetime, timezone

import numpy as np
from sqlalchemy import insert, text

from cityloop.assessment import engine, scoring, service, store
from cityloop.assessment.figures import COUNT_FIELD, FLAG_BIT, KINDS, NEVER, NODE_CODES, REGION_DIGITS
from cityloop.assessment.periods import parse_period
from cityloop.config import Settings
from cityloop.geo.models import Region, UnitGrid
from cityloop.org.models import Department, User, UserRole

CASES = 1_000_000
PERIOD = parse_period("2026-10")
NOW = datetime(2026, 11, 3, 1, 0, tzinfo=timezone.utc)
STREETS, COMMUNITIES, GRIDS = 13, 10, 25  # 13 streets × 10 communities × 25 unit grids = 3,250 grids
PEOPLE = {"inspector": (1000, 240), "operator": (2000, 24), "shift_lead": (3000, 8), "dispatcher": (4000, 12)}
COLUMNS = ("assess_ts", "case_id", "last_seq", "pending_ts", "flags", "counts", "grid", "department_id",
           "return_department_id", "reporter_id", "operator_id", "verifier_id", "filer_id", "dispatcher_id",
           "checker_id", "closer_id", "source", "category_code", "created_ts", "packed")


def grid_codes() -> np.ndarray:
    return np.array([int(f"341122{100 + s:03d}{1 + c:03d}{1 + g:03d}") for s in range(STREETS)
                     for c in range(COMMUNITIES) for g in range(GRIDS)], dtype=np.int64)


def generate(n: int = CASES, seed: int = 20261125) -> dict[str, np.ndarray]:
    """Projection columns of n cases whose deadlines fall in PERIOD."""
    rng = np.random.default_rng(seed)
    r = lambda: rng.random(n)  # noqa: E731
    start, end = service.bounds_ts(Settings(demo=True), PERIOD)
    cols: dict[str, np.ndarray] = {"assess_ts": np.sort(rng.integers(start, end, n)), "case_id": np.arange(1, n + 1)}
    grids = grid_codes()
    cols["grid"] = grids[np.minimum(rng.zipf(1.3, n) - 1, len(grids) - 1) % len(grids)]
    public = r() < 0.3
    rejected, merged = r() < 0.03, r() < 0.02
    self_closed = ~public & (r() < 0.03)
    intake_end = rejected | merged | self_closed
    f: dict[str, np.ndarray] = {"reported": np.ones(n, bool), "accept_due": np.ones(n, bool)}
    f["accepted"] = r() < 0.995
    f["accepted_on_time"] = f["accepted"] & (r() < 0.9)
    f["not_accepted"], f["merged"], f["self_closed"] = rejected, merged, self_closed
    verify = public & ~intake_end
    f["verify_sent"] = f["verify_due"] = verify
    f["verify_sent_on_time"] = verify & f["accepted_on_time"]
    f["verified"] = verify & (r() < 0.98)
    f["verified_on_time"] = f["verified"] & (r() < 0.9)
    f["verified_false"] = f["verified"] & (r() < 0.08)
    f["public_verified"] = f["verified"] & ~f["verified_false"]
    to_file = ~intake_end & (~public | f["public_verified"])
    f["file_due"] = to_file
    f["refused"] = to_file & (r() < 0.02)
    f["filed"] = to_file & ~f["refused"]
    f["filed_on_time"] = f["filed"] & (r() < 0.9)
    f["voided"] = f["filed"] & (r() < 0.01)
    f["accurate_filed"] = f["filed"] & ~f["voided"]
    going = f["accurate_filed"]
    f["dispatch_due"] = f["dispatched"] = going
    f["dispatched_on_time"] = going & (r() < 0.92)
    f["wrong_dispatch"] = going & (r() < 0.03)
    reworks = np.where(going & (r() < 0.1), rng.integers(1, 3, n), 0)
    f["reworked"] = reworks > 0
    f["accurate_dispatched"] = going & ~f["wrong_dispatch"] & ~f["reworked"]
    f["handle_due"] = f["close_due"] = going
    suspended = going & (r() < 0.01)
    open_case = going & ~suspended & (r() < 0.05)
    f["handled"] = going & ~suspended & ~open_case
    f["handled_on_time"] = f["handled"] & (r() < 0.88)
    f["handled_overtime"] = f["handled"] & ~f["handled_on_time"]
    f["suspended"] = suspended
    f["closed"] = f["handled"] & (r() < 0.97)
    f["closed_on_time"] = f["closed"] & f["handled_on_time"]
    f["closed_overtime"] = f["closed"] & ~f["handled_on_time"]
    f["lead_close_due"] = f["lead_closed"] = f["closed"]
    f["lead_closed_on_time"] = f["closed"] & (r() < 0.93)
    f["rated"] = f["closed"] & (r() < 0.3)
    f["satisfied"] = f["rated"] & (r() < 0.85)
    f["dissatisfied"] = f["rated"] & ~f["satisfied"]
    f["valid_reported"] = (going | self_closed)
    f["supervised"] = going & (r() < 0.04)
    cols["flags"] = sum(v.astype(np.int64) << FLAG_BIT[k] for k, v in f.items())
    node = np.where(suspended | open_case, NODE_CODES["handle"], 0)
    counts = {"reworks": reworks, "returns": np.where(f["wrong_dispatch"], 1, 0),
              "extensions": np.where(going & (r() < 0.05), 1, 0), "suspensions": np.where(suspended, 1, 0),
              "check_due": np.where(f["handled"], 1 + reworks, 0), "checked": np.where(f["handled"], 1 + reworks, 0),
              "checked_on_time": np.where(f["handled"] & (r() < 0.9), 1 + reworks, 0),
              "overtime_multiple": np.where(f["handled_overtime"], rng.integers(1, 4, n), 0), "open_node": node}
    cols["counts"] = sum(v.astype(np.int64) << COUNT_FIELD[k][0] for k, v in counts.items())
    # Open cases: half still within their deadline at NOW (none, in a past month), suspended ones never due.
    cols["pending_ts"] = np.where(suspended, NEVER, np.where(open_case, cols["assess_ts"], 0))
    dept = np.minimum(rng.zipf(1.4, n), 42)
    cols["department_id"] = np.where(going, dept, 0)
    cols["return_department_id"] = np.where(f["wrong_dispatch"], rng.integers(1, 43, n), 0)

    def person(kind: str, mask: np.ndarray) -> np.ndarray:
        first, count = PEOPLE[kind]
        return np.where(mask, first + rng.integers(0, count, n), 0)

    cols["reporter_id"] = person("inspector", ~public)
    cols["operator_id"] = person("operator", f["accepted"])
    cols["verifier_id"] = person("inspector", verify)
    cols["filer_id"] = person("shift_lead", to_file)
    cols["dispatcher_id"] = person("dispatcher", going)
    cols["checker_id"] = person("inspector", f["handled"])
    cols["closer_id"] = person("shift_lead", f["closed"])
    cols["last_seq"] = np.full(n, 8)
    cols["created_ts"] = cols["assess_ts"] - 4 * 3600
    return cols


def rows(cols: dict[str, np.ndarray], hex_bytes: bool = False) -> list[tuple]:
    """The columns as row tuples in COLUMNS order (source and category are constants here); the packed copy is
    made by the projection's own code, as text for PostgreSQL's COPY when hex_bytes."""
    ints = [cols[c].tolist() for c in COLUMNS if c not in ("source", "category_code", "packed")]
    blobs = store.packed(cols)
    if hex_bytes:
        blobs = ["\\\\x" + b.hex() for b in blobs]  # COPY text: a literal backslash, then bytea hex
    return [(*t[:16], "inspector", "06010", t[16], p) for t, p in zip(zip(*ints), blobs)]


def objects(session) -> None:
    """Departments, people, regions and unit grids the rows name."""
    session.execute(insert(Region), [{"code": "341122", "level": "district", "name": "来安县", "region_class": 1}])
    session.execute(insert(Region), [{"code": f"341122{100 + s:03d}", "level": "street", "name": f"街道{s + 1}",
                                      "parent_code": "341122", "region_class": 1} for s in range(STREETS)])
    session.execute(insert(Region), [{"code": f"341122{100 + s:03d}{1 + c:03d}", "level": "community",
                                      "name": f"社区{s + 1}-{c + 1}", "parent_code": f"341122{100 + s:03d}",
                                      "region_class": 1 + (c >= 7)} for s in range(STREETS)
                                     for c in range(COMMUNITIES)])
    session.execute(insert(UnitGrid), [{"code": str(g), "community_code": str(g)[:12], "street_code": str(g)[:9],
                                        "district_code": "341122", "area_m2": 10_000.0, "geometry": "{}"}
                                       for g in grid_codes()])
    session.execute(insert(Department), [{"id": i, "code": f"d{i:02d}", "name": f"部门{i:02d}", "active": True,
                                          "group": "class1" if i <= 30 else "class2"} for i in range(1, 43)])
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    people = [(first + i, kind) for kind, (first, count) in PEOPLE.items() for i in range(count)]
    session.execute(insert(User), [{"id": uid, "username": f"u{uid}", "display_name": f"{kind}{uid}",
                                    "password_hash": "-", "created_at": now, "active": True} for uid, kind in people])
    session.execute(insert(UserRole), [{"user_id": uid, "role": kind} for uid, kind in people])


def assess(session, settings: Settings) -> dict:
    """The full monthly assessment: every kind, scored and ranked, with rank changes."""
    return service.compute(session, settings, PERIOD, list(KINDS), NOW)[0]


def assess_pandas(conn, settings: Settings) -> dict[str, dict[int, dict[str, int]]]:
    """Baseline: the same period's rows read with pandas.read_sql, counters decoded and summed with groupby."""
    import pandas as pd

    start, end = service.bounds_ts(settings, PERIOD)
    df = pd.read_sql(text(f"SELECT {', '.join(engine.FETCH)} FROM assess_case_stats "
                          "WHERE assess_ts >= :a AND assess_ts < :b"), conn, params={"a": start, "b": end})
    now = int(NOW.timestamp())
    flags, counts = df["flags"].to_numpy(), df["counts"].to_numpy()  # pandas has no bit shifts
    for name, bit in FLAG_BIT.items():
        df[name] = (flags >> bit) & 1
    for name, (shift, bits) in COUNT_FIELD.items():
        df[name] = (counts >> shift) & ((1 << bits) - 1)
    waiting = (df["open_node"] == NODE_CODES["handle"]) & (df["pending_ts"] > now)
    df.loc[waiting, ["handle_due", "close_due"]] = 0
    df["overdue_open"] = df["handle_due"] & (1 - df["handled"])
    out = {}
    for kind, spec in KINDS.items():
        totals: dict[int, dict[str, int]] = {}
        for column, counters in spec.sources.items():
            keys = df[column] // 10 ** (15 - REGION_DIGITS[kind]) if column == "grid" else df[column]
            summed = df[list(counters)].groupby(keys).sum()
            for key, row in summed.drop(index=0, errors="ignore").iterrows():
                totals.setdefault(int(key), {}).update({c: int(v) for c, v in row.items()})
        for counters in totals.values():
            rates = engine.rates_of(kind, counters)
            scoring.score(kind, counters, rates, service.score_config(settings))
        out[kind] = totals
    return out


def timed(fn, repeat: int = 3) -> tuple[float, list[float], object]:
    """(best seconds, all seconds, last result)."""
    times, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return min(times), times, result


def check_same(ours: dict, baseline: dict) -> None:
    """Both ways must give the same department sums (the benchmark measures equal work)."""
    for row in ours["department"]:
        want = baseline["department"].get(row["object_id"], {})
        got = {k: v for k, v in row["counters"].items() if k in want}
        if got != want:
            raise SystemExit(f"pandas and the engine disagree for department {row['object_id']}")


def params(seconds: list[float], cases: int, baseline: list[float]) -> dict:
    return {"cases": cases, "period": PERIOD.key, "kinds": list(KINDS), "grids": len(grid_codes()),
            "departments": 42, "people": sum(c for _, c in PEOPLE.values()), "runs_s": [round(s, 3) for s in seconds],
            "median_s": round(statistics.median(seconds), 3), "baseline_runs_s": [round(s, 3) for s in baseline],
            "previous_period": "empty (rank changes computed live from it)", "provisional": True,
            "note": "2 shared cores; other helpers were running"}
