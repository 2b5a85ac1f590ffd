"""city_scope_list: the case list (page 1 of 30, newest first, with its total) as a district center's dispatcher
sees it (两级指挥: only the cases their center handles), over 140,000 cases of a 14-district city on SQLite.
Baseline (same run, same rows): the same list for the city center's dispatcher, who sees every case."""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import write_result  # noqa: E402

from cityloop.cases import queries  # noqa: E402
from cityloop.cases.models import Case  # noqa: E402
from cityloop.catalog.models import Category  # noqa: E402
from cityloop.config import Settings  # noqa: E402
from cityloop.db import make_engine, make_session_factory  # noqa: E402
from cityloop.demo.city_data import DISTRICTS  # noqa: E402
from cityloop.deps import Actor  # noqa: E402
from cityloop.db.migrate import upgrade  # noqa: E402
from cityloop.sla.service import calendar  # noqa: E402

CASES, REPEAT = 140_000, 30
NOW = datetime(2026, 12, 3, 2, 0, tzinfo=timezone.utc)


def seed(session) -> None:
    cat = Category(standard="GB/T 47678.5-2026", kind="matter", major_code="06", major_name="市容环境类",
                   code="06010", name="暴露垃圾")
    session.add(cat)
    session.flush()
    rng = random.Random(7)
    codes = [code for code, *_ in DISTRICTS]
    rows = []
    for i in range(CASES):
        district = rng.choice(codes)
        at = NOW - timedelta(minutes=CASES - i)
        rows.append(dict(number=f"C{i:010d}", stage=rng.choice(["filed", "dispatched", "closed"]), source="inspector",
                         category_id=cat.id, category_code="06010", description="垃圾", lon=108.7, lat=34.3,
                         grid_code=f"{district}001001001", community_code=f"{district}001001",
                         street_code=f"{district}001", district_code=district, created_at=at, updated_at=at,
                         handling_district=district if rng.random() < 0.6 else None))
    for start in range(0, CASES, 10_000):
        session.execute(insert(Case), rows[start:start + 10_000])
    session.commit()


def timed(session, actor: Actor, cal) -> list[float]:
    out = []
    for _ in range(REPEAT):
        t = time.perf_counter()
        items, total = queries.list_cases(session, actor, {}, NOW, 1, 30, cal)
        out.append((time.perf_counter() - t) * 1000)
        assert len(items) == 30 and total > 0
    return out


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        upgrade(url)
        engine = make_engine(url)
        settings = Settings(database_url=url, demo=True)
        with make_session_factory(engine)() as session:
            seed(session)
            cal = calendar(session, settings)
            roles = frozenset({"dispatcher"})
            city = Actor(1, "dispatcher1", "市级派遣员", roles)
            district = Actor(2, "qd_disp", "秦都区派遣员", roles, district_code="610402")
            timed(session, district, cal)  # warm up the caches and the page cache
            ours, baseline = timed(session, district, cal), timed(session, city, cal)
        engine.dispose()
    write_result("city_scope_list", "ms", statistics.median(ours), False, "city center's list (every case)",
                 statistics.median(baseline), {"cases": CASES, "districts": len(DISTRICTS), "page_size": 30,
                                               "repeat": REPEAT, "p90_ms": round(sorted(ours)[int(REPEAT * .9)], 2)},
                 "sqlite")


if __name__ == "__main__":
    main()
