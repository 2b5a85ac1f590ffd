"""`cityloop serve --workers N`: N uvicorn processes, each listening on a socket of its own on the same port.

On one shared listening socket (uvicorn's own multi-worker mode) the worker that wakes first accepts a whole
burst of new connections — a proxy opening its keep-alive pool, a load spike — and serves them alone while the
others idle. With a socket per worker (SO_REUSEPORT) the kernel spreads connections across the workers evenly.
This process only starts the workers, starts one again when it dies, replaces them all on SIGHUP (as uvicorn's
supervisor does) and passes SIGTERM/SIGINT on."""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import sys
import time
from typing import Any

log = logging.getLogger("cityloop.serving")
BACKLOG = 2048
STOP_SECONDS = 5.0  # beyond uvicorn's own grace: then a worker that still runs is killed
START_SECONDS = 90.0  # a reload waits this long for a new worker's app to start before stopping the old one


def can_spread() -> bool:
    """Whether this system balances connections across sockets of one port: Linux does (SO_REUSEPORT); the BSDs and
    macOS accept the option but hand every connection to one socket."""
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def _socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def _worker(host: str, port: int, options: dict[str, Any], ready: Any) -> None:
    import threading

    import uvicorn

    sock = _socket(host, port)
    sock.listen(BACKLOG)
    server = uvicorn.Server(uvicorn.Config(**options))

    def tell_when_started() -> None:
        while not server.started and not server.should_exit:
            time.sleep(0.05)
        ready.set()

    threading.Thread(target=tell_when_started, daemon=True).start()
    server.run(sockets=[sock])


def run(options: dict[str, Any], host: str, port: int, workers: int, grace: float) -> None:
    """Serve `options` (uvicorn.Config keywords) with `workers` processes until SIGTERM or SIGINT. The port is
    reserved first (bound, not listening: it takes no connections), so a taken port fails here with OSError."""
    reserve = _socket(host, port)
    ctx = multiprocessing.get_context("spawn")  # a worker inherits none of this process's state
    stopping: list[int] = []
    reloads: list[int] = []

    def start() -> tuple[Any, Any]:
        """A new worker process and the event it sets once its app has started."""
        ready = ctx.Event()
        process = ctx.Process(target=_worker, args=(host, port, options, ready), name="cityloop-api")
        process.start()
        return process, ready

    def stop(sig: int, _frame: Any) -> None:
        stopping.append(sig)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    previous[signal.SIGHUP] = signal.signal(signal.SIGHUP, lambda sig, _frame: reloads.append(sig))
    processes = [start() for _ in range(workers)]
    try:
        while not stopping:
            if reloads:  # new code or settings: a fresh worker beside each old one, which stops once it serves
                reloads.clear()
                for i, (old, _) in enumerate(processes):
                    processes[i] = (fresh, ready) = start()
                    deadline = time.monotonic() + START_SECONDS
                    while not ready.wait(0.2) and fresh.is_alive() and not stopping and time.monotonic() < deadline:
                        pass
                    _stop(old, grace + STOP_SECONDS)
            for i, (process, _) in enumerate(processes):
                if not process.is_alive():
                    log.warning("API 工作进程 %s 退出 (%s)，重新启动 / worker %s exited, starting another",
                                process.pid, process.exitcode, process.pid, process.exitcode)
                    processes[i] = start()
            time.sleep(0.2)
    finally:
        for process, _ in processes:
            if process.is_alive():
                os.kill(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace + STOP_SECONDS
        for process, _ in processes:
            _stop(process, max(0.0, deadline - time.monotonic()))
        reserve.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _stop(process: Any, seconds: float) -> None:
    """SIGTERM (uvicorn finishes the requests in flight), then SIGKILL after `seconds`."""
    if process.is_alive():
        os.kill(process.pid, signal.SIGTERM)
    process.join(seconds)
    if process.is_alive():
        process.kill()
        process.join()
