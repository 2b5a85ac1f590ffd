"""A real `cityloop serve` stops promptly on SIGTERM while a big screen holds its Server-Sent Events stream open
(uvicorn waits for open responses before it exits, so the stream has to end by itself)."""

from __future__ import annotations

import signal
import time
from datetime import datetime, timezone

import httpx
from sqlalchemy import update

from cityloop.db import make_engine, make_session_factory
from cityloop.db.migrate import upgrade
from cityloop.org.models import User
from cityloop.org.security import issue_token
from tests.conftest import SHANGHAI
from tests.factories import seed_world
from tests.server_process import ServerProcess

SECRET = "shutdown-test-secret-of-32-characters"


def test_sigterm_ends_an_open_screen_stream_and_the_server_exits(tmp_path):
    url = f"sqlite:///{tmp_path / 'serve.db'}"
    upgrade(url)
    with make_session_factory(make_engine(url))() as s:
        world = seed_world(s, datetime(2026, 11, 23, 9, tzinfo=SHANGHAI))
        s.execute(update(User).values(password_hash="!"))  # not a demo database
        s.commit()
        leader = world.users["leader1"].id
    server = ServerProcess(url, SECRET, tmp_path / "media", tmp_path / "serve.log", CITYLOOP_SCREEN_POLL_SECONDS="0.5")
    try:
        server.start()
        token = issue_token(SECRET, leader, "leader1", datetime.now(timezone.utc), 10)
        with httpx.stream("GET", f"{server.base}/api/v1/screen/stream", headers={"Authorization": f"Bearer {token}"},
                          timeout=30) as stream:
            assert stream.status_code == 200
            lines = stream.iter_lines()
            assert next(lines).startswith("event: change")  # the stream is live
            server.signal(signal.SIGTERM)
            started = time.monotonic()
            server.proc.wait(timeout=15)
            assert time.monotonic() - started < 8
        assert server.proc.returncode in (0, -signal.SIGTERM)  # uvicorn re-raises the signal it caught once done
    finally:
        server.kill()
