"""`cityloop gateway jt808` as systemd runs it: positions the gateway acknowledged are in the database after the
process is stopped with SIGTERM, and it exits cleanly (status 0) instead of dying with its batch."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select

from cityloop.db import make_engine, make_session_factory
from cityloop.fleet import jt808 as j
from cityloop.fleet.models import Position
from cityloop.fleet.terminal import Terminal
from cityloop.db.migrate import upgrade
from tests.conftest import SHANGHAI, free_port
from tests.factories import seed_world
from tests.fleet_world import LAT, lon_at, seed_fleet

SENT = 60


async def _drive(port: int) -> int:
    """Log a seeded truck in and report positions one by one; the number the gateway acknowledged."""
    for _ in range(150):
        try:
            t = await Terminal("013800000001").connect("127.0.0.1", port)
            break
        except OSError:
            await asyncio.sleep(0.1)
    await t.login("皖MA0001")
    start = datetime.now(timezone.utc) - timedelta(minutes=20)
    acked = 0
    for k in range(SENT):
        fix = j.Location.make(lon_at(1000 + 40 * k), LAT, 30.0, 90, start + timedelta(seconds=10 * k), load=j.LOAD_FULL)
        acked += await t.report(fix) == j.OK
    await t.close()
    return acked


def test_sigterm_flushes_acknowledged_positions(tmp_path):
    url = f"sqlite:///{tmp_path / 'gw.db'}"
    upgrade(url)
    with make_session_factory(make_engine(url))() as s:
        now = datetime.now(SHANGHAI)
        seed_fleet(s, seed_world(s, now), now)
    port = free_port()
    env = {**os.environ, "CITYLOOP_DATABASE_URL": url, "CITYLOOP_SECRET_KEY": "s" * 32,
           "CITYLOOP_MEDIA_DIR": str(tmp_path / "media"), "CITYLOOP_FLEET_DEPARTMENT_CODE": "cgj"}
    env.pop("CITYLOOP_DEMO", None)
    proc = subprocess.Popen([sys.executable, "-m", "cityloop.cli", "gateway", "jt808", "--host", "127.0.0.1",
                             "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    try:
        acked = asyncio.run(_drive(port))
    finally:
        proc.send_signal(signal.SIGTERM)  # at once: the last positions are still in the writer's queue
        output, _ = proc.communicate(timeout=60)
    assert acked == SENT
    assert proc.returncode == 0 and "stopped" in output, output
    with make_session_factory(make_engine(url))() as s:
        assert s.scalar(select(func.count()).select_from(Position)) == SENT
