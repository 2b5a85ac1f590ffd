"""Intake keeps campaigns and level rules in memory (db/topic_cache); a change made through the API on one host is
used by the next report on another host, which hears of it through PostgreSQL (two apps here stand for two hosts),
or on one SQLite file by the next report of another worker process, which finds the topic's stamp changed."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from cityloop.app import create_app
from cityloop.state import app_state

HOME = "341122"  # the world's district


@pytest.fixture
def hosts(settings, engine, session_factory, read_session_factory, clock, world):
    """Two apps on the test's transaction: `here` makes changes, `there` listens for them."""
    made = [create_app(settings, engine=engine, session_factory=session_factory,
                       read_session_factory=read_session_factory, clock=clock) for _ in range(2)]
    here, there = (app_state(app) for app in made)
    here.changes.handlers.clear()  # `here` stands for another process: what it drops is not `there`'s memory
    there.changes.start()  # PostgreSQL: a listener (SQLite: nothing to listen to, the stamps are read at use)
    try:
        assert engine.dialect.name != "postgresql" or there.changes.listening.wait(10)
        yield [TestClient(app, raise_server_exceptions=True) for app in made], there.changes
    finally:
        there.changes.stop()


def _report(api, world, login, category="06010", grid="341122100001001"):
    lon, lat = world.point(grid)
    r = api.post("/api/v1/cases", json={"category_code": category, "lon": lon, "lat": lat, "description": "两台主机"},
                 headers=login("inspector01"))
    assert r.status_code == 201, r.text
    return r.json()


def _heard(bus, before: int) -> None:
    if bus.engine.dialect.name != "postgresql":
        return  # the stamp is written before the API answers
    deadline = time.monotonic() + 5
    while bus.received <= before and time.monotonic() < deadline:
        time.sleep(0.02)
    assert bus.received > before, "the listening host never heard of the change"


def test_a_campaign_created_on_one_host_tags_the_next_report_on_another(hosts, world, login, clock):
    (here, there), bus = hosts
    untagged = _report(there, world, login)["id"]  # `there` now holds "no campaign" in memory
    before = bus.received
    body = {"name": "城市亮化专项普查", "theme": "lighting", "categories": ["06010"],
            "starts_at": (clock.now() - timedelta(hours=1)).isoformat(),
            "ends_at": (clock.now() + timedelta(days=7)).isoformat(), "grids": ["DG01"]}
    r = here.post("/api/v1/campaigns", json=body, headers=login("leader1"))
    assert r.status_code == 201, r.text
    _heard(bus, before)
    tagged = _report(there, world, login)["id"]
    assert there.get(f"/api/v1/campaigns/{r.json()['id']}/cases", headers=login("leader1")).json() == [tagged]
    assert untagged != tagged


def test_a_level_rule_added_or_removed_on_one_host_decides_the_next_report_on_another(hosts, world, login):
    (here, there), bus = hosts
    assert _report(there, world, login)["handling_district"] is None  # no rules: the city's (now in memory)
    before = bus.received
    r = here.post("/api/v1/city/level-rules", json={"category_code": "06", "level": "district"},
                  headers=login("admin"))
    assert r.status_code == 201, r.text
    _heard(bus, before)
    assert _report(there, world, login)["handling_district"] == HOME
    before = bus.received
    assert here.delete(f"/api/v1/city/level-rules/{r.json()['id']}", headers=login("admin")).status_code == 204
    _heard(bus, before)
    assert _report(there, world, login)["handling_district"] is None
