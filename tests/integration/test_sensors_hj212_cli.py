"""`cityloop gateway hj212` and `cityloop simulate sensors --via hj212` on a seeded SQLite file: the simulator's
dust and noise stations talk HJ 212 to the listener, which stores what they send."""

from __future__ import annotations

import socket
import threading
import time
from datetime import datetime

import pytest
from sqlalchemy import func, select, update

from cityloop.config import Settings, get_settings
from cityloop.db import make_engine, make_session_factory
from cityloop.db.migrate import upgrade
from cityloop.sensors import cli
from cityloop.sensors.models import Device, Reading, Rollup
from tests.conftest import SHANGHAI, free_port
from tests.factories import seed_world
from tests.integration.sensors_kit import seed_sensors


@pytest.fixture
def cli_db(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    upgrade(url)
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        now = datetime.now(SHANGHAI)
        world = seed_world(session, now)
        seed_sensors(session, world, Settings(database_url=url, demo=True), now)
        for code, mn in (("DU-1", "LADU341122000001"), ("NO-1", "LANO341122000001")):
            session.execute(update(Device).where(Device.code == code).values(hj212_mn=mn, hj212_password="123456"))
        session.commit()
    engine.dispose()
    port = free_port()
    monkeypatch.setenv("CITYLOOP_DATABASE_URL", url)
    monkeypatch.setenv("CITYLOOP_DEMO", "1")
    monkeypatch.setenv("CITYLOOP_HJ212_PORT", str(port))  # the name for settings.sensor_hj212_port
    get_settings.cache_clear()
    yield url, port
    get_settings.cache_clear()


def test_the_listener_command_and_the_hj212_simulator(cli_db):
    url, port = cli_db
    assert get_settings().sensor_hj212_port == port
    gateway = threading.Thread(target=cli.gateway_hj212, kwargs={"port": None, "host": None, "seconds": 8})
    gateway.start()
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert time.monotonic() < deadline, "the listener did not start"
            time.sleep(0.05)
    cli.simulate_sensors(devices=0, scenario="rainstorm", via="hj212", url=f"tcp://127.0.0.1:{port}",
                         gateway_key=None, minutes=10, step=60, per_message=1, realtime=False, seed=7)
    gateway.join(20)
    assert not gateway.is_alive()
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        ids = dict(session.execute(select(Device.code, Device.id)).all())
        readings = dict(session.execute(select(Reading.device_id, func.count()).group_by(Reading.device_id)).all())
        minutes = dict(session.execute(select(Rollup.device_id, func.count()).where(
            Rollup.step_s == 60, Rollup.reported == "N").group_by(Rollup.device_id)).all())
        values = session.execute(select(Reading.pm10, Reading.leq_db).where(Reading.device_id == ids["DU-1"])
                                 .limit(1)).one()
    engine.dispose()
    assert readings == {ids["DU-1"]: 11, ids["NO-1"]: 11}  # 10 minutes, one real-time frame a minute, HJ 212 only
    assert minutes[ids["DU-1"]] == 10 * 2 and minutes[ids["NO-1"]] == 10  # pm10 + pm25, leq_db: each minute
    assert values[0] is not None and values[1] is None
