"""Positions forwarded over MQTT reach the fleet pipeline (a real Mosquitto broker on a free port)."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import aiomqtt
import pytest

from cityloop.state import app_state
from cityloop.fleet.ingest import Pipeline
from cityloop.fleet.mqtt import subscribe
from tests.conftest import free_port
from tests.fleet_world import drive, seed_fleet


@pytest.fixture
def broker():
    exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(exe).exists():
        pytest.fail("Mosquitto is missing: run `make system-deps` (Debian package mosquitto)")
    port = free_port()
    proc = subprocess.Popen([exe, "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            break
        except OSError:
            time.sleep(0.05)
    yield port
    proc.terminate()
    proc.wait(10)


def test_forwarded_positions_over_mqtt(app, session, world, clock, settings, broker):
    seed_fleet(session, world, clock.now())
    settings.fleet_mqtt_url = f"mqtt://127.0.0.1:{broker}"
    pipeline = Pipeline(app_state(app))
    pipeline.refresh(session)
    got: list[tuple] = []
    pipeline.submit = got.extend  # what the writer thread would receive
    positions = drive("皖MA0001", clock.now() - timedelta(minutes=5), 700, 30, 20)

    async def scenario():
        task = asyncio.create_task(subscribe(app_state(app), pipeline))
        async with aiomqtt.Client("127.0.0.1", broker) as client:
            for _ in range(100):  # until the subscription is in place
                await client.publish(settings.fleet_mqtt_topic, json.dumps(positions[0]), qos=1)
                await asyncio.sleep(0.1)
                if got:
                    break
            await client.publish(settings.fleet_mqtt_topic, b"{not json", qos=1)
            await client.publish(settings.fleet_mqtt_topic, json.dumps({"positions": positions[1:]}), qos=1)
            await client.publish(settings.fleet_mqtt_topic, json.dumps([{**positions[0], "plate": "苏A00000"}]), qos=1)
            for _ in range(50):
                await asyncio.sleep(0.1)
                if pipeline.stats["mqtt_unknown"]:
                    break
        task.cancel()

    asyncio.run(scenario())
    vid = {f[0] for f in got}
    assert vid == {world_vehicle(session)} and len({f[1] for f in got}) == len(positions)
    assert pipeline.stats["mqtt_bad_payloads"] == 1 and pipeline.stats["mqtt_unknown"] == 1


def world_vehicle(session) -> int:
    from sqlalchemy import select

    from cityloop.fleet.models import Vehicle

    return session.scalar(select(Vehicle.id).where(Vehicle.plate == "皖MA0001"))
