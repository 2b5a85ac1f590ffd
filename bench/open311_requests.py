"""open311_requests: GeoReport service requests rendered per second for a full page (1,000 requests, JSON, with
`extensions=true`) on SQLite — what a city dashboard or an Open311 aggregator pulls.

Baseline (same run, same cases): the case API's own view, `cases.queries.to_out` one case at a time (one label query
per case), the obvious way to turn cases into documents."""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))
from common import write_result  # noqa: E402

from cityloop.cases import intake, queries  # noqa: E402
from cityloop.cases.schemas import ReportIn  # noqa: E402
from cityloop.cases.service import Ctx  # noqa: E402
from cityloop.config import Settings  # noqa: E402
from cityloop.db import make_engine, make_session_factory  # noqa: E402
from cityloop.deps import SYSTEM_ACTOR  # noqa: E402
from cityloop.geo.coords import to_wgs84  # noqa: E402
from cityloop.geo.queries import build_index  # noqa: E402
from cityloop.db.migrate import upgrade  # noqa: E402
from cityloop.open311 import requests  # noqa: E402
from cityloop.open311.domain import published_stages  # noqa: E402
from cityloop.open311.formats import render  # noqa: E402
from cityloop.shared.clock import SystemClock  # noqa: E402
from cityloop.sla.service import calendar  # noqa: E402
from tests.factories import seed_world  # noqa: E402

CASES = 3000
PAGE = 1000
ROUNDS = 5


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        upgrade(url)
        settings = Settings(database_url=url, demo=True, media_dir=Path(tmp) / "media")
        factory = make_session_factory(make_engine(url))
        now = SystemClock().now()
        with factory() as session:
            world = seed_world(session, now)
            index, cal = build_index(session), calendar(session, settings)
            codes = list(world.grids)
            batch = []
            for i in range(CASES):
                lon, lat = world.point(codes[i % len(codes)])
                ctx = Ctx(session, settings, cal, now - timedelta(minutes=CASES - i), SYSTEM_ACTOR)
                body = ReportIn(category_code=("06010", "09006", "01001")[i % 3], lon=lon, lat=lat,
                                description=f"bench {i}", source=("public", "open311", "hotline")[i % 3])
                batch.append(intake.prepare(ctx, body, index.locate, to_wgs84, None))
            intake.write(session, batch, settings)
            session.commit()
        filters = requests.Filters(page_size=PAGE, extensions=True)
        every = published_stages("immediately")  # the fresh reports are not accepted: publish them all here
        ours, base = [], []
        for _ in range(ROUNDS):
            with factory() as session:
                t0 = time.perf_counter()
                cases = requests.find(session, filters, SystemClock().now(), None, every)
                render("json", "service_requests", requests.to_requests(session, cases, "http://x", True, False, 3))
                ours.append(len(cases) / (time.perf_counter() - t0))
            with factory() as session:
                t0 = time.perf_counter()
                cases = requests.find(session, filters, SystemClock().now(), None, every)
                docs = [queries.to_out(session, c, SYSTEM_ACTOR, now, cal, with_actions=False).model_dump_json()
                        for c in cases]
                base.append(len(docs) / (time.perf_counter() - t0))
    write_result("open311_requests", "requests/s", statistics.median(ours), True, "case API view, one case at a time",
                 statistics.median(base), {"cases": CASES, "page": PAGE, "extensions": True, "rounds": ROUNDS},
                 "sqlite")


if __name__ == "__main__":
    main()
