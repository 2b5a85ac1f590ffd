"""The worker supervisor: a crashed worker is started again, a finished one is not, and stop ends them all."""

from __future__ import annotations

import sys
import threading
import time

from cityloop.shared.workers import run_workers


def test_a_crashed_worker_starts_again_and_the_supervisor_ends_when_all_have_finished(tmp_path):
    flag, runs = tmp_path / "crashed-once", tmp_path / "runs"
    crash_once = ("import pathlib, sys; f = pathlib.Path(sys.argv[1]); r = pathlib.Path(sys.argv[2]); "
                  "r.write_text(r.read_text() + 'x' if r.exists() else 'x'); "
                  "sys.exit(0 if f.exists() else (f.touch() or 3))")
    done = [sys.executable, "-c", "pass"]
    run_workers([[sys.executable, "-c", crash_once, str(flag), str(runs)], done], threading.Event(), poll_s=0.05)
    assert runs.read_text() == "xx"  # ran, crashed with 3, was started again and finished with 0


def test_stop_terminates_every_worker(tmp_path):
    stop = threading.Event()
    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
    threading.Timer(0.5, stop.set).start()
    started = time.monotonic()
    run_workers([sleeper, sleeper], stop, poll_s=0.05, grace_s=10)
    assert time.monotonic() - started < 10  # SIGTERM ended both sleepers long before their minute
