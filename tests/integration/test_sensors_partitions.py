"""`cityloop ingest mqtt --workers 2` as an operator runs it: two processes split the devices by hash, every
reading is stored once, SIGTERM stops them all; a bad --partition is refused with a clear message."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, update
from typer.testing import CliRunner

from cityloop.cli import _mount_optional, app
from cityloop.config import Settings
from cityloop.db import make_engine, make_session_factory
from cityloop.db.migrate import upgrade
from cityloop.geo.queries import build_index
from cityloop.org.models import User
from cityloop.sensors import devices as registry
from cityloop.sensors.models import Device, Reading
from cityloop.sensors.mqtt import LocalBroker, parse_partition, partition_of, publish
from tests.conftest import SHANGHAI
from tests.factories import seed_world
from tests.integration.test_backup import two_databases  # noqa: F401

NOW = datetime(2026, 11, 23, 9, tzinfo=SHANGHAI)
CODES = [f"WL-P{i}" for i in range(8)]
PER_DEVICE = 30


@pytest.mark.parametrize(("text", "want"), [("0/1", (0, 1)), ("1/2", (1, 2)), ("7/8", (7, 8)), ("2/2", None),
                                            ("-1/2", None), ("1", None), ("a/b", None), ("1/0", None)])
def test_a_partition_is_k_of_n(text, want):
    if want is None:
        with pytest.raises(ValueError):
            parse_partition(text)
    else:
        assert parse_partition(text) == want


def test_partitions_are_stable_and_cover_every_device():
    codes = [f"DEV-{i}" for i in range(2000)]
    for n in (1, 2, 3, 8):
        counts = [0] * n
        for code in codes:
            k = partition_of(code, n)
            assert k == partition_of(code, n)  # no per-process salt (Python's hash() has one)
            counts[k] += 1
        assert min(counts) > len(codes) / n * 0.8  # an even split
    assert [partition_of(f"WL-P{i}", 2) for i in range(8)] == [0, 0, 0, 0, 1, 1, 1, 1]  # crc32: any host, any run


def test_a_bad_partition_is_refused_with_a_clear_message():
    _mount_optional()
    result = CliRunner().invoke(app, ["ingest", "mqtt", "--partition", "2/2"])
    assert result.exit_code == 2 and "k/n" in result.output


def _seed(url: str) -> None:
    upgrade(url)
    with make_session_factory(make_engine(url))() as s:
        world = seed_world(s, NOW)
        s.execute(update(User).values(password_hash="!"))
        lon, lat = world.point("341122100001001")
        locate = build_index(s).locate
        for code in CODES:
            registry.register(s, Settings(database_url=url, demo=True), {"code": code, "name": "下穿通道积水监测",
                                                              "type": "waterlogging", "lon": lon, "lat": lat},
                              locate, NOW)
        s.commit()


def test_two_worker_processes_store_every_reading_once_and_stop_on_sigterm(two_databases, tmp_path):  # noqa: F811
    url, _ = two_databases
    _seed(url)
    assert {partition_of(code, 2) for code in CODES} == {0, 1}
    log = tmp_path / "ingest.log"
    env = {**os.environ, "CITYLOOP_DATABASE_URL": url, "CITYLOOP_SECRET_KEY": "partition-test-secret-32-bytes-x",
           "CITYLOOP_MEDIA_DIR": str(tmp_path / "media"), "CITYLOOP_SENSOR_TENANT": "341122"}
    env.pop("CITYLOOP_DEMO", None)
    with LocalBroker() as broker, log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "cityloop.cli", "ingest", "mqtt", "--workers", "2",
                                 "--url", broker], env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 90  # two processes import and connect; slow on a loaded machine
            while log.read_text().count("subscribed") < 2:
                assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
            start = datetime.now(timezone.utc) - timedelta(hours=1)
            msgs = [(f"cityloop/341122/devices/{code}/telemetry",
                     json.dumps({"ts": (start + timedelta(seconds=i)).isoformat(), "values": {"depth_cm": 1}}).encode())
                    for i in range(PER_DEVICE) for code in CODES]
            publish(broker, msgs, qos=1)
            engine = make_engine(url)
            with make_session_factory(engine)() as s:
                def stored() -> dict[str, int]:
                    return dict(s.execute(select(Device.code, func.count()).join(Reading, Reading.device_id == Device.id)
                                          .group_by(Device.code)).all())
                deadline = time.monotonic() + 60
                while sum(stored().values()) < len(msgs) and time.monotonic() < deadline:
                    s.rollback()
                    time.sleep(0.2)
                assert stored() == {code: PER_DEVICE for code in CODES}, log.read_text()
            engine.dispose()
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(45) == 0, log.read_text()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
