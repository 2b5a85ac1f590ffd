"""A real `cityloop serve` stops promptly on SIGTERM while a big screen holds its Server-Sent Events stream open
(uvicorn waits for open responses before it exits, so the stream has to end by itself)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone

import httpx
from sqlalchemy import update

from cityloop.db import make_engine, make_session_factory
from cityloop.db.migrate import upgrade
from cityloop.org.models import User
from cityloop.org.security import issue_token
from tests.conftest import SHANGHAI, free_port, wait_until_up
from tests.factories import seed_world

SECRET = "shutdown-test-secret-of-32-characters"


def test_sigterm_ends_an_open_screen_stream_and_the_server_exits(tmp_path):
    url = f"sqlite:///{tmp_path / 'serve.db'}"
    upgrade(url)
    with make_session_factory(make_engine(url))() as s:
        world = seed_world(s, datetime(2026, 11, 23, 9, tzinfo=SHANGHAI))
        s.execute(update(User).values(password_hash="!"))  # not a demo database
        s.commit()
        leader = world.users["leader1"].id
    port = free_port()
    env = {**os.environ, "CITYLOOP_DATABASE_URL": url, "CITYLOOP_SECRET_KEY": SECRET,
           "CITYLOOP_MEDIA_DIR": str(tmp_path / "media"), "CITYLOOP_SCHEDULER_IN_SERVER": "false",
           "CITYLOOP_SCREEN_POLL_SECONDS": "0.5"}
    env.pop("CITYLOOP_DEMO", None)
    proc = subprocess.Popen([sys.executable, "-m", "cityloop.cli", "serve", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        def alive() -> None:
            assert proc.poll() is None, proc.stdout.read()

        wait_until_up(base, 60, alive)  # a loaded machine imports slowly
        token = issue_token(SECRET, leader, "leader1", datetime.now(timezone.utc), 10)
        with httpx.stream("GET", f"{base}/api/v1/screen/stream", headers={"Authorization": f"Bearer {token}"},
                          timeout=30) as stream:
            assert stream.status_code == 200
            lines = stream.iter_lines()
            assert next(lines).startswith("event: change")  # the stream is live
            proc.send_signal(signal.SIGTERM)
            started = time.monotonic()
            proc.wait(timeout=15)
            assert time.monotonic() - started < 8
        assert proc.returncode in (0, -signal.SIGTERM)  # uvicorn re-raises the signal it caught once it is done
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
