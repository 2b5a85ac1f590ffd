"""Faults on the link, on a simulated clock: the upper platform is unreachable, answers 500 and times out for an
hour of county work, and an answer is lost after the city applied the batch. The sender backs off, the assigned
case cannot be closed until its result is acknowledged, and afterwards the city holds every event exactly once,
in per-case order."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from cityloop.state import app_state
from cityloop.app import create_app
from cityloop.cases.models import CaseEvent
from cityloop.config import Settings, get_settings
from cityloop.db import make_engine
from cityloop.exchange import sender
from cityloop.exchange.models import MirrorCase, MirrorEvent, Parked, Uplink
from cityloop.geo.queries import build_index
from cityloop.org.security import issue_token
from cityloop.shared.clock import FixedClock
from cityloop.sla.service import calendar
from tests.integration.exchange_servers import COUNTY, EXCHANGE_KEY, SECRET, seeded
from tests.integration.test_backup import two_databases  # noqa: F401

UP = "http://city.test/api/v1/exchange/batches"


class Flaky:
    """The county's HTTP client to the city: up, down (refused), 500, timing out, or losing the answer."""

    def __init__(self, city: TestClient):
        self.city, self.mode, self.calls = city, "up", 0

    def post(self, url, **kwargs):
        self.calls += 1
        if self.mode == "down":
            raise httpx.ConnectError("connection refused")
        if self.mode == "500":
            return httpx.Response(500, json={"code": "boom"})
        if self.mode == "timeout":
            raise httpx.ReadTimeout("timed out")
        kwargs.pop("timeout", None)
        response = self.city.post("/api/v1/exchange/batches", **kwargs)
        if self.mode == "lose":
            raise httpx.ReadTimeout("answer lost")
        return response


@pytest.fixture
def link(two_databases, tmp_path, monkeypatch):  # noqa: F811
    county_url, city_url = two_databases
    county_users, city_users = seeded(county_url), seeded(city_url)
    clock = FixedClock(datetime.now(timezone.utc).replace(microsecond=0))
    monkeypatch.setenv("CITYLOOP_SECRET_KEY", SECRET)
    get_settings.cache_clear()
    common = dict(secret_key=SECRET, scheduler_in_server=False, exchange_backoff_max_seconds=300)
    county_settings = Settings(database_url=county_url, media_dir=tmp_path / "cm", exchange_upstream_url=UP,
                               exchange_key=EXCHANGE_KEY, exchange_batch_size=25, **common)
    city_settings = Settings(database_url=city_url, media_dir=tmp_path / "xm",
                             exchange_downstream={COUNTY: EXCHANGE_KEY}, **common)
    county_app = create_app(county_settings, serving=False, clock=clock,
                            engine=make_engine(county_url))
    city_app = create_app(city_settings, serving=False, clock=clock, engine=make_engine(city_url))
    with TestClient(county_app) as county, TestClient(city_app) as city:
        yield county, city, county_users, city_users, clock, county_settings
    get_settings.cache_clear()


def test_an_hour_down_then_500s_and_timeouts_loses_and_repeats_nothing(link):
    county, city, users, city_users, clock, settings = link
    factory = app_state(county.app).session_factory
    with factory() as s:
        locate = build_index(s).locate
    flaky = Flaky(city)

    def auth(name, who=users):
        token = issue_token(SECRET, who[name], name, datetime.now(timezone.utc), 600)
        return {"Authorization": f"Bearer {token}"}

    def act(ident, action, user, **body):
        return county.post(f"/api/v1/cases/{ident}/actions/{action}", json=body, headers=auth(user))

    def send() -> int:
        with factory() as s:
            return sender.send_once(s, settings, clock.now(), flaky, locate=locate, cal=calendar(s, settings))

    # Before the outage the city assigns a case down and the county takes it up.
    due = (clock.now() + timedelta(days=3)).isoformat()
    r = city.post("/api/v1/exchange/assignments", headers=auth("leader1", city_users), json={
        "platform": COUNTY, "category_code": "06010", "lon": users["_lon"], "lat": users["_lat"],
        "description": "市里交办", "required_due_at": due, "ref": "JB-FAULT"})
    assert r.status_code == 201, r.text
    assert send() == 0  # a heartbeat; the answer carries the assignment
    assigned = county.get("/api/v1/cases", params={"source": "assigned"}, headers=auth("lead1")).json()
    number = (assigned["items"] if isinstance(assigned, dict) else assigned)[0]["number"]
    assert send() >= 1

    # An hour of county work: 20 min refused, 20 min of 500s, 20 min of timeouts.
    for minute in range(60):
        flaky.mode = "down" if minute < 20 else "500" if minute < 40 else "timeout"
        body = {"category_code": "06010", "lon": users["_lon"], "lat": users["_lat"], "description": f"第{minute}分钟"}
        case = county.post("/api/v1/cases", json=body, headers=auth("inspector01")).json()
        assert act(case["id"], "accept", "operator1").status_code == 200
        clock.advance(minutes=1)
        assert send() == -1
    for action, user, body in (("accept", "operator1", {}), ("file", "lead1", {}),
                               ("dispatch", "dispatcher1", {"department_code": "d01"}),
                               ("handle", "d01", {"note": "已处置"}), ("check_ok", "inspector01", {})):
        assert act(number, action, user, **body).status_code == 200, action
    refused = act(number, "close", "lead1")
    assert refused.status_code == 409 and refused.json()["code"] == "exchange-result-pending"
    with factory() as s:
        state = s.get(Uplink, 1)
        assert 5 <= flaky.calls - 2 <= 30  # backed off: far fewer tries than the 60 rounds
        assert state.errors == flaky.calls - 2 and "ReadTimeout" in state.last_error
    assert city.get("/api/v1/exchange/links", headers=auth("leader1", city_users)).json()[0]["events"] < 10

    # Back up; the first answer is lost after the city applied the batch: the resend repeats nothing.
    flaky.mode = "lose"
    clock.advance(minutes=10)
    assert send() == -1
    flaky.mode = "up"
    clock.advance(minutes=10)
    while send() > 0:
        pass
    assert act(number, "close", "lead1").status_code == 200
    clock.advance(minutes=1)
    assert send() == 1

    county_events = _county_events(factory)
    with app_state(city.app).session_factory() as s:
        got = s.execute(select(MirrorCase.remote_id, MirrorEvent.seq).join(
            MirrorCase, MirrorEvent.mirror_case_id == MirrorCase.id).order_by(MirrorEvent.id)).all()
        assert s.scalar(select(Parked.id).limit(1)) is None
        mirror = s.scalar(select(MirrorCase).where(MirrorCase.number == number))
        assert mirror.stage == "closed" and mirror.assignment_ref == "JB-FAULT"
    assert sorted(got) == county_events and len(got) == len(set(got))  # every event once
    per_case: dict[int, list[int]] = {}
    for case_id, seq in got:
        per_case.setdefault(case_id, []).append(seq)
    assert all(seqs == sorted(seqs) for seqs in per_case.values())  # in order


def _county_events(factory) -> list[tuple[int, int]]:
    with factory() as s:
        return sorted(s.execute(select(CaseEvent.case_id, CaseEvent.seq)).all())


def test_backoff_grows_with_jitter_and_stops_at_the_cap():
    from cityloop.exchange.domain import backoff_seconds

    assert [backoff_seconds(n, 1.0, 300) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 8.0]
    assert backoff_seconds(20, 1.0, 300) == 300 and backoff_seconds(20, 0.0, 300) == 150
