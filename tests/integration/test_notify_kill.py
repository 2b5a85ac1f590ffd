"""SIGKILL the delivery worker process while the gateway holds messages it already delivered: after a restart
every message reaches its phone exactly once and nothing is lost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from cityloop.db import make_engine, make_session_factory
from cityloop.db.migrate import upgrade
from cityloop.notify.models import OutboxMessage
from cityloop.notify.service import Recipients, publish
from tests.integration.notify_kit import FakeGateway
from tests.integration.test_backup import two_databases  # noqa: F401

N = 120
SRC = str(Path(__file__).resolve().parents[2] / "src")


def _worker(url: str, gateway: FakeGateway) -> subprocess.Popen:
    env = {**os.environ, "CITYLOOP_DATABASE_URL": url, "CITYLOOP_DEMO": "1",
           "CITYLOOP_NOTIFY_SMS_URL": f"{gateway.url}/sms", "CITYLOOP_NOTIFY_LEASE_SECONDS": "2",
           "CITYLOOP_NOTIFY_BATCH": "20", "CITYLOOP_NOTIFY_RATE_PER_MINUTE": "0",
           "CITYLOOP_NOTIFY_INTERVAL_SECONDS": "0.2", "CITYLOOP_NOTIFY_TIMEOUT_SECONDS": "20",
           "PYTHONPATH": os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen([sys.executable, "-m", "cityloop.cli", "notify", "worker"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _wait(condition, timeout: float) -> None:
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.05)


@pytest.mark.slow
def test_sigkill_mid_delivery_sends_nothing_twice_and_loses_nothing(two_databases):  # noqa: F811
    url = two_databases[0]
    upgrade(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    with factory() as session:
        for i in range(N):
            publish(session, "supervised", {"case_number": f"K{i:04d}"},
                    Recipients(addresses=[f"sms:1380000{i:04d}"]), event_key=f"kill:{i}")
        session.commit()

    def statuses() -> dict:
        with factory() as session:
            return dict(session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status))
                        .all())

    with FakeGateway(hold_after=30) as gateway:
        first = _worker(url, gateway)
        try:
            _wait(lambda: len(gateway.requests) > 35, 30)  # the gateway delivered these and holds its answers
            os.kill(first.pid, signal.SIGKILL)
            first.wait()
        finally:
            if first.poll() is None:
                first.kill()
        killed_while = statuses()
        assert killed_while.get("sending", 0) > 0  # claimed, delivered, not recorded: the dangerous window
        delivered_before_restart = len(gateway.delivered)
        gateway.release.set()
        gateway.hold_after = None
        second = _worker(url, gateway)
        try:
            _wait(lambda: statuses() == {"sent": N}, 60)
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(20)
    phones = [m["phone"] for m in gateway.delivered]
    assert len(phones) == N and len(set(phones)) == N  # every message once
    assert delivered_before_restart > 30 and gateway.repeats > 0  # resent after the lease: the gateway kept one
    engine.dispose()
