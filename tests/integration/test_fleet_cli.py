"""`cityloop gateway jt808` and `cityloop simulate trucks` on a seeded SQLite file: the simulator adds trucks
with permits, logs them in over JT/T 808 and drives them; the gateway stores what they send."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from datetime import datetime

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from cityloop.config import get_settings
from cityloop.db import make_engine, make_session_factory
from cityloop.fleet import cli
from cityloop.fleet.models import Position, Vehicle
from cityloop.db.migrate import upgrade
from tests.conftest import SHANGHAI, free_port
from tests.factories import seed_world


@pytest.fixture
def cli_db(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    upgrade(url)
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        seed_world(session, datetime(2026, 11, 23, 9, tzinfo=SHANGHAI))
    engine.dispose()
    port = free_port()
    monkeypatch.setenv("CITYLOOP_DATABASE_URL", url)
    monkeypatch.setenv("CITYLOOP_DEMO", "1")
    monkeypatch.setenv("CITYLOOP_JT808_PORT", str(port))
    get_settings.cache_clear()
    yield url, port
    get_settings.cache_clear()


def test_the_gateway_command_and_the_truck_simulator(cli_db):
    url, port = cli_db
    loop = asyncio.new_event_loop()
    gateway = threading.Thread(target=lambda: cli.jt808(port=None, host="127.0.0.1"), daemon=True)
    # `gateway jt808` runs until interrupted: give it its own loop in a thread, and cancel it afterwards.
    original = cli._run

    def run(coro):
        if threading.current_thread() is not gateway:
            return original(coro)
        try:
            loop.run_until_complete(coro)
        except asyncio.CancelledError:
            pass

    cli._run = run
    try:
        gateway.start()
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.1)
        result = CliRunner().invoke(cli.simulate_app, ["--vehicles", "6", "--interval", "0.5", "--duration", "2.5"])
    finally:
        loop.call_soon_threadsafe(lambda: [task.cancel() for task in asyncio.all_tasks(loop)])
        gateway.join(30)
        cli._run = original
    assert result.exit_code == 0, result.output
    assert "6 辆车" in result.output and "(6 added)" in result.output
    with make_session_factory(make_engine(url))() as s:
        assert s.scalar(select(func.count(Vehicle.id))) == 6
        stored = s.scalar(select(func.count(func.distinct(Position.vehicle_id))))
    assert stored >= 5  # a truck of the 'offline' kind may be silent the whole time
