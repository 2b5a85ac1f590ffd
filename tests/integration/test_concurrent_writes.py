"""Writers under concurrency on a real SQLite file: worker processes and threads queue on the write lock and
lose nothing; group commit isolates a failing item; concurrent reports with one Idempotency-Key make one case."""

from __future__ import annotations

import asyncio
import time
import multiprocessing
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import select, text

from cityloop.state import app_state
from cityloop.app import create_app
from cityloop.cases.batcher import GroupCommitter
from cityloop.config import Settings
from cityloop.db import make_engine, make_session_factory
from cityloop.db.migrate import upgrade
from cityloop.org.security import issue_token
from cityloop.shared.clock import FixedClock

BUMP = text("INSERT INTO case_number_seq (day, last) VALUES ('t', 1) "
            "ON CONFLICT (day) DO UPDATE SET last = case_number_seq.last + 1")


@pytest.fixture
def sqlite_url(tmp_path):
    url = f"sqlite:///{tmp_path / 'writers.db'}"
    upgrade(url)
    return url


def _bump_many(url: str, times: int) -> None:
    factory = make_session_factory(make_engine(url))

    def work(_):
        for _ in range(times):
            with factory() as session:
                session.execute(BUMP)
                session.commit()

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(work, range(4)))


def test_processes_and_threads_never_lose_a_write(sqlite_url):
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_bump_many, args=(sqlite_url, 50)) for _ in range(2)]
    for p in procs:
        p.start()
    _bump_many(sqlite_url, 50)
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    with make_engine(sqlite_url).connect() as conn:
        assert conn.execute(text("SELECT last FROM case_number_seq WHERE day = 't'")).scalar() == 3 * 4 * 50


def test_group_commit_isolates_a_failing_item(sqlite_url):
    def write(session, items):
        for item in items:
            if item == "bad":
                raise ValueError("bad item")
            session.execute(BUMP)
        return [f"ok {item}" for item in items]

    committer = GroupCommitter(make_session_factory(make_engine(sqlite_url)), write)

    async def main():
        return await asyncio.gather(*(committer.submit(i) for i in [*range(99), "bad"]), return_exceptions=True)

    results = asyncio.run(main())
    committer.stop()
    assert results[:99] == [f"ok {i}" for i in range(99)]
    assert isinstance(results[99], ValueError)
    with make_engine(sqlite_url).connect() as conn:
        assert conn.execute(text("SELECT last FROM case_number_seq WHERE day = 't'")).scalar() == 99


def test_concurrent_reports_and_a_raced_idempotency_key(sqlite_url, tmp_path):
    from tests.factories import seed_world
    from tests.conftest import SHANGHAI

    from datetime import datetime

    clock = FixedClock(datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI))
    with make_session_factory(make_engine(sqlite_url))() as session:
        world = seed_world(session, clock.now())
        inspector = world.users["inspector01"].id
        point = world.point("341122100001001")
    settings = Settings(database_url=sqlite_url, demo=True, media_dir=tmp_path / "media",
                        secret_key="test-secret-of-thirty-two-bytes-or-more")
    app = create_app(settings, engine=make_engine(sqlite_url), clock=clock)
    token = issue_token(settings.secret_key, inspector, "inspector01", clock.now(), 60)
    headers = {"Authorization": f"Bearer {token}"}
    body = {"category_code": "06010", "lon": point[0], "lat": point[1], "description": "垃圾"}

    async def main():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            plain = [client.post("/api/v1/cases", json={**body, "description": f"垃圾 {i}"}, headers=headers)
                     for i in range(40)]
            keyed = [client.post("/api/v1/cases", json=body, headers={**headers, "Idempotency-Key": "same"})
                     for _ in range(5)]
            return await asyncio.gather(*plain, *keyed)

    responses = asyncio.run(main())
    app_state(app).intake.stop()
    plain, keyed = responses[:40], responses[40:]
    assert [r.status_code for r in plain] == [201] * 40
    assert len({r.json()["number"] for r in plain}) == 40  # numbers are unique under concurrency
    assert sorted(r.status_code for r in keyed) == [200] * 4 + [201]
    assert len({r.json()["id"] for r in keyed}) == 1
    with make_engine(sqlite_url).connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM cases")).scalar() == 41
        assert conn.execute(text("SELECT count(*) FROM case_events")).scalar() == 41


def test_the_server_sweeps_overdue_cases_itself(sqlite_url, tmp_path):
    from datetime import datetime, timedelta
    import time

    from fastapi.testclient import TestClient

    from tests.conftest import SHANGHAI
    from tests.factories import seed_world

    clock = FixedClock(datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI))
    with make_session_factory(make_engine(sqlite_url))() as session:
        world = seed_world(session, clock.now())
        inspector, point = world.users["inspector01"].id, world.point("341122100001001")
    settings = Settings(database_url=sqlite_url, demo=True, media_dir=tmp_path / "media", sweep_interval_seconds=0.05,
                        secret_key="test-secret-of-thirty-two-bytes-or-more")
    headers = {"Authorization": f"Bearer {issue_token(settings.secret_key, inspector, 'x', clock.now(), 600)}"}
    with TestClient(create_app(settings, engine=make_engine(sqlite_url), clock=clock)) as api:  # runs the lifespan
        case = api.post("/api/v1/cases", json={"category_code": "06010", "lon": point[0], "lat": point[1],
                                               "description": "垃圾"}, headers=headers).json()
        clock.set(clock.now() + timedelta(hours=2))  # past the 30-minute 受理 limit
        deadline = time.monotonic() + 10
        while api.get(f"/api/v1/cases/{case['id']}", headers=headers).json()["supervise_count"] == 0:
            assert time.monotonic() < deadline, "the server never swept"
            time.sleep(0.05)
        time.sleep(0.2)  # further sweeps must not supervise the same overdue node again
        events = [e["action"] for e in api.get(f"/api/v1/cases/{case['id']}/events", headers=headers).json()]
    assert events == ["report", "auto_supervise"]


def test_a_separate_scheduler_process_sweeps_and_stops_on_sigterm(sqlite_url, tmp_path):
    import os
    import signal
    import subprocess
    import sys
    from datetime import datetime, timedelta, timezone

    from cityloop.cases import automation
    from cityloop.cases.models import CaseEvent
    from cityloop.geo.queries import build_index
    from cityloop.sla.service import calendar
    from tests.conftest import SHANGHAI
    from tests.factories import seed_world

    settings = Settings(database_url=sqlite_url, demo=True, secret_key="x" * 32)
    past = datetime.now(timezone.utc) - timedelta(days=3)  # a case whose 处置 deadline has long passed
    with make_session_factory(make_engine(sqlite_url))() as s:
        world = seed_world(s, past.astimezone(SHANGHAI))
        lon, lat = world.point("341122100001001")
        case = automation.open_case(s, settings, calendar(s, settings), past, build_index(s).locate, source="sensor",
                                    category_code="06010", lon=lon, lat=lat, description="x", department_code="d01")
        s.commit()
    env = {**os.environ, "CITYLOOP_DATABASE_URL": sqlite_url, "CITYLOOP_SECRET_KEY": "s" * 32,
           "CITYLOOP_SWEEP_INTERVAL_SECONDS": "0.1", "CITYLOOP_MEDIA_DIR": str(tmp_path / "media")}
    env.pop("CITYLOOP_DEMO", None)  # no demo simulators in this process
    proc = subprocess.Popen([sys.executable, "-m", "cityloop.cli", "scheduler"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        with make_session_factory(make_engine(sqlite_url))() as s:
            while not s.scalar(select(CaseEvent.id).where(CaseEvent.case_id == case.id,
                                                          CaseEvent.action == "auto_supervise")):
                assert time.monotonic() < deadline, "the scheduler never swept"
                time.sleep(0.2)
                s.rollback()
    finally:
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0 and "stopped" in output


def test_concurrent_open311_and_save_and_accept_reports_share_the_group_commit(sqlite_url, tmp_path):
    from datetime import datetime

    from tests.conftest import SHANGHAI
    from tests.factories import seed_world

    clock = FixedClock(datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI))
    with make_session_factory(make_engine(sqlite_url))() as session:
        world = seed_world(session, clock.now())
        operator = world.users["operator1"].id
        lon, lat = world.point("341122100001001")
    settings = Settings(database_url=sqlite_url, demo=True, media_dir=tmp_path / "media",
                        secret_key="test-secret-of-thirty-two-bytes-or-more")
    app = create_app(settings, engine=make_engine(sqlite_url), clock=clock)
    headers = {"Authorization": f"Bearer {issue_token(settings.secret_key, operator, 'operator1', clock.now(), 60)}"}
    form = {"api_key": "demo", "service_code": "06010", "lat": str(lat), "long": str(lon), "description": "垃圾"}
    hotline = {"category_code": "06010", "lon": lon, "lat": lat, "description": "热线", "source": "hotline"}

    async def main():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            plain = [client.post("/open311/v2/requests.json", data={**form, "description": f"垃圾 {i}"})
                     for i in range(20)]
            keyed = [client.post("/open311/v2/requests.json", data=form, headers={"Idempotency-Key": "same"})
                     for _ in range(4)]
            accepted = [client.post("/api/v1/cases?accept=true", json={**hotline, "description": f"热线 {i}"},
                                    headers=headers) for i in range(10)]
            return await asyncio.gather(*plain, *keyed, *accepted)

    responses = asyncio.run(main())
    app_state(app).intake.stop()
    plain, keyed, accepted = responses[:20], responses[20:24], responses[24:]
    assert [r.status_code for r in plain + keyed] == [200] * 24, plain[0].text
    assert len({r.json()[0]["service_request_id"] for r in plain}) == 20
    assert len({r.json()[0]["service_request_id"] for r in keyed}) == 1  # one request under the raced key
    assert [r.status_code for r in accepted] == [201] * 10
    assert {r.json()["stage"] for r in accepted} == {"verifying"}  # 受理 in the same transaction
    with make_engine(sqlite_url).connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM cases")).scalar() == 31
        assert conn.execute(text("SELECT count(*) FROM channel_reports WHERE channel = 'open311'")).scalar() == 21
        numbers = conn.execute(text("SELECT number FROM cases")).scalars().all()
        assert len(set(numbers)) == 31


def test_a_batch_reserves_each_days_numbers_and_on_postgresql_its_case_ids(engine):
    """A batch straddling midnight takes a range of each day's numbers, and its case ids come with them: on
    PostgreSQL from the sequence (one round trip), on SQLite the rowids after the largest (its one writer inserts
    them before anyone else can)."""
    from cityloop.cases.intake import _reserve

    days = {"19990101": 3, "19990102": 2}  # days no other test numbers
    with make_session_factory(engine)() as session:
        top = session.scalar(text("SELECT coalesce(max(id), 0) FROM cases"))
        first, ids = _reserve(session, days)
        again, more = _reserve(session, days)
        session.rollback()
    assert again == {day: first[day] + n for day, n in days.items()}
    if engine.dialect.name == "postgresql":
        assert ids is not None and more is not None
        assert len(set(ids + more)) == 10 and sorted(ids) == ids and min(more) > max(ids)
    else:
        assert ids == more == list(range(top + 1, top + 6)) and first == {"19990101": 1, "19990102": 1}
