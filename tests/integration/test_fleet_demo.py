"""The demo's fleet: companies, trucks with terminals, permits in every state, a driven history with violations
and cases, an appeal; and the demo server runs the JT/T 808 gateway on the configured port with the trucks
registered."""

from __future__ import annotations

import asyncio
import time
from io import StringIO

import pytest
from fastapi.testclient import TestClient
from rich.console import Console
from sqlalchemy import func, select

from cityloop.app import create_app
from cityloop.cases.models import Case
from cityloop.config import Settings
from cityloop.db import make_engine, make_session_factory
from cityloop.demo.build import build_demo
from cityloop.fleet import jt808 as j
from cityloop.fleet.models import Appeal, Company, Permit, Position, Vehicle, Violation
from cityloop.fleet.terminal import Terminal
from tests.conftest import free_port


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('fleetdemo') / 'demo.db'}"
    build_demo(Settings(database_url=url, demo=True), Console(file=StringIO()), days=1, per_day=6)
    return url


def test_the_demo_fleet(demo_url):
    with make_session_factory(make_engine(demo_url))() as s:
        assert s.scalar(select(func.count(Company.id))) == 4
        phones = s.scalars(select(Vehicle.terminal_phone)).all()
        assert len(phones) == 40 and all(p.startswith("138000") for p in phones)
        states = dict(s.execute(select(Permit.status, func.count()).group_by(Permit.status)).all())
        assert states["approved"] >= 8 and states["pending"] == 2 and states["rejected"] == 1
        assert s.scalar(select(func.count()).select_from(Position)) > 10_000
        kinds = dict(s.execute(select(Violation.kind, func.count(Violation.case_id)).group_by(Violation.kind)).all())
        assert {"speeding", "off_route", "out_of_hours", "unpermitted"} <= set(kinds) and sum(kinds.values()) >= 10
        # one case per truck, kind and day while it is open (同车同类当日合并): fewer cases than violations with one
        cases = s.scalar(select(func.count(func.distinct(Violation.case_id))))
        assert s.scalar(select(func.count(Case.id)).where(Case.source == "fleet")) == cases <= sum(kinds.values())
        assert s.scalar(select(func.count(Appeal.id))) == 2


def test_the_demo_server_runs_the_gateway_with_the_fleet_registered(demo_url, tmp_path):
    port = free_port()
    settings = Settings(database_url=demo_url, demo=True, jt808_port=port, sweep_in_server=False,
                        media_dir=tmp_path / "media")
    with TestClient(create_app(settings)) as api:  # runs the lifespan, hence the server tasks
        token = api.post("/api/v1/auth/token", data={"username": "admin", "password": "demo"}).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        vehicles = api.get("/api/v1/fleet/vehicles", headers=auth).json()
        first = vehicles[0]
        assert first["plate"].startswith("皖M") and first["terminal_phone"] == "13800000001"
        for _ in range(100):
            if api.get("/api/v1/fleet/gateway", headers=auth).json()["running"]:
                break
            time.sleep(0.1)

        async def terminal():
            t = await Terminal("0" + first["terminal_phone"]).connect("127.0.0.1", port)
            await t.login(first["plate"])
            result = await t.heartbeat()
            await t.close()
            return result

        assert asyncio.run(terminal()) == j.OK
        stats = api.get("/api/v1/fleet/gateway", headers=auth).json()
        assert stats["running"] and stats["port"] == port and stats["counters"]["authenticated"] >= 1
        page = api.get(f"/api/v1/fleet/violations?vehicle_id={first['id']}", headers=auth)
        assert page.status_code == 200
