"""`cityloop serve --workers 2`: a burst of keep-alive connections is spread over both workers (a listening socket
each), a worker that dies is replaced, SIGHUP replaces them all, SIGTERM stops them all, and a taken port is a clear
error."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cityloop.db.migrate import upgrade
from tests.conftest import free_port
from tests.server_process import ServerProcess

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
SECRET = "serve-workers-test-secret-32-chars!"


def _children(pid: int) -> set[int]:
    """The server's worker processes (not multiprocessing's resource tracker)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            spawned = b"spawn_main" in (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z" and spawned:
            found.add(int(stat.parent.name))
    return found


def _established(pid: int, port: int) -> int:
    """How many established connections to `port` the process holds."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    count = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        cols = line.split()
        if int(cols[1].split(":")[1], 16) == port and cols[3] == "01" and cols[9] in inodes:
            count += 1
    return count


def _burst(port: int, n: int) -> list[socket.socket]:
    """n connections opened at once, each answered once (so each was accepted and is being served)."""
    conns = [socket.create_connection(("127.0.0.1", port), timeout=90) for _ in range(n)]  # a new worker may still start
    for c in conns:
        c.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
    for c in conns:
        assert c.recv(65536).startswith(b"HTTP/1.1 200")
    return conns


@pytest.fixture
def server(tmp_path):
    url = f"sqlite:///{tmp_path / 'serve.db'}"
    upgrade(url)
    srv = ServerProcess(url, SECRET, tmp_path / "media", tmp_path / "serve.log", workers=2)
    try:
        srv.start()
        yield srv
    finally:
        srv.kill()


def test_connections_are_spread_over_the_workers_which_are_replaced_when_they_die_or_on_sighup(server):
    workers = _children(server.proc.pid)
    assert len(workers) == 2
    conns = _burst(server.port, 32)
    try:
        held = {pid: _established(pid, server.port) for pid in workers}
        assert sum(held.values()) == 32
        assert min(held.values()) >= 4, held  # one shared socket: the first worker to wake takes nearly all
    finally:
        for c in conns:
            c.close()
    victim = min(workers)
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 60
    while len(_children(server.proc.pid) - {victim}) < 2:
        assert time.monotonic() < deadline, server.log.read_text()
        time.sleep(0.2)
    server.wait_ready()
    for c in _burst(server.port, 8):
        c.close()
    before = _children(server.proc.pid)
    server.signal(signal.SIGHUP)  # reload: every worker replaced
    while _children(server.proc.pid) & before or len(_children(server.proc.pid)) < 2:
        assert time.monotonic() < deadline, server.log.read_text()
        time.sleep(0.2)
    server.wait_ready()
    conns = _burst(server.port, 32)
    try:
        assert min(_established(pid, server.port) for pid in _children(server.proc.pid)) >= 4
    finally:
        for c in conns:
            c.close()
    survivors = _children(server.proc.pid)
    server.signal(signal.SIGTERM)
    assert server.proc.wait(30) == 0
    assert not [pid for pid in survivors if Path(f"/proc/{pid}/fd").exists()]  # the workers ended before it


def test_a_taken_port_is_a_clear_error(tmp_path):
    url = f"sqlite:///{tmp_path / 'serve.db'}"
    upgrade(url)
    port = free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        env = {**os.environ, "CITYLOOP_DATABASE_URL": url, "CITYLOOP_SECRET_KEY": SECRET,
               "CITYLOOP_MEDIA_DIR": str(tmp_path / "media")}
        env.pop("CITYLOOP_DEMO", None)
        done = subprocess.run([sys.executable, "-m", "cityloop.cli", "serve", "--port", str(port), "--workers", "2"],
                              env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "无法监听" in done.stdout and str(port) in done.stdout
