"""A real `cityloop serve` in a subprocess, for tests that kill it, stop it or run several hosts: its own
settings and port, its output in a log file (a full pipe would stall it), started in its own process group."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.conftest import free_port, wait_until_up

START_SECONDS = 90  # usually 1–3 s; a loaded 2-core CI machine imports and forks workers slowly


class ServerProcess:
    """One `cityloop serve` process (and its workers) on a free port; start() waits until /healthz answers."""

    def __init__(self, url: str, secret: str, media: Path, log: Path, *, workers: int = 1, scheduler: bool = False,
                 **env: str):
        self.port, self.log, self.workers = free_port(), log, workers
        self.env = {**os.environ, "CITYLOOP_DATABASE_URL": url, "CITYLOOP_SECRET_KEY": secret,
                    "CITYLOOP_MEDIA_DIR": str(media), "CITYLOOP_SCHEDULER_IN_SERVER": str(scheduler).lower(), **env}
        self.env.pop("CITYLOOP_DEMO", None)
        self.proc: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start the server (again, after kill or stop) and wait until it answers."""
        self.launch()
        self.wait_ready()

    def launch(self) -> None:
        """Start the process without waiting (several hosts start side by side)."""
        with self.log.open("a") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "cityloop.cli", "serve", "--port", str(self.port), "--workers",
                 str(self.workers)], env=self.env, start_new_session=True, stdout=out, stderr=subprocess.STDOUT)

    def wait_ready(self) -> None:
        """Wait until /healthz answers; fail at once, with the server's log, if the process died."""
        def alive() -> None:
            assert self.proc is not None and self.proc.poll() is None, self.log.read_text()

        wait_until_up(self.base, START_SECONDS, alive)

    def signal(self, sig: int) -> None:
        """Send a signal to the server's main process only (as a process manager would)."""
        assert self.proc is not None
        self.proc.send_signal(sig)

    def kill(self) -> None:
        """SIGKILL the whole group, main process and workers: no clean shutdown."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self, seconds: float = 15) -> None:
        """SIGTERM and wait for a clean exit; SIGKILL what is still running after `seconds`."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(seconds)
        except subprocess.TimeoutExpired:
            self.kill()
