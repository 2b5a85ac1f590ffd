"""Run one command as several worker processes and keep them running: a worker that crashes is started again
(after a pause that doubles while it keeps crashing, up to MAX_PAUSE_S); one that exits with 0 has finished.
Setting `stop` (the caller's SIGTERM or SIGINT) sends SIGTERM to every worker and waits for their clean exits."""

from __future__ import annotations

import logging
import signal
import subprocess
import threading
import time

log = logging.getLogger("cityloop.workers")
MAX_PAUSE_S = 30.0
STEADY_S = 60.0  # a worker that ran this long before crashing starts again at once


def run_workers(commands: list[list[str]], stop: threading.Event, poll_s: float = 0.5,
                grace_s: float = 30.0) -> None:
    """Run each command as a process until all have finished or `stop` is set (then terminate them)."""
    procs: list[subprocess.Popen[bytes] | None] = [subprocess.Popen(cmd) for cmd in commands]
    started = [time.monotonic()] * len(commands)
    pause = [0.0] * len(commands)
    due = [0.0] * len(commands)  # when a crashed worker starts again
    while not stop.wait(poll_s):
        now = time.monotonic()
        for i, proc in enumerate(procs):
            if proc is None:
                if due[i] and now >= due[i]:
                    procs[i], started[i], due[i] = subprocess.Popen(commands[i]), now, 0.0
                continue
            code = proc.poll()
            if code is None:
                continue
            procs[i] = None
            if code != 0:
                pause[i] = 0.0 if now - started[i] > STEADY_S else min(MAX_PAUSE_S, max(1.0, 2 * pause[i]))
                due[i] = now + pause[i]
                log.warning("worker %d exited with %s; starting it again in %.0f s", i, code, pause[i])
        if all(p is None for p in procs) and not any(due):
            return
    for proc in procs:
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    for proc in procs:
        if proc is None:
            continue
        try:
            proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
