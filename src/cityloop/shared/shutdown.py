"""The server process is stopping: SIGTERM/SIGINT mark it, so long-lived responses (Server-Sent Events) end and
uvicorn, which waits for every open response before it exits, can stop. Uvicorn's own handlers still run."""

from __future__ import annotations

import asyncio
import signal
import threading
import time

_stopping = threading.Event()
SIGNALS = (signal.SIGTERM, signal.SIGINT)


def stopping() -> bool:
    """True once the process got SIGTERM or SIGINT."""
    return _stopping.is_set()


def watch_signals() -> None:
    """Put a marker in front of the current SIGTERM/SIGINT handlers (main thread only: a no-op in test threads)."""
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in SIGNALS:
        previous = signal.getsignal(sig)
        if getattr(previous, "marks_stopping", False):
            continue

        def handler(signum, frame, previous=previous) -> None:
            _stopping.set()  # nothing ever waits on it, so its lock is free when the signal arrives
            if callable(previous):
                previous(signum, frame)
            elif previous == signal.SIG_DFL:
                signal.signal(signum, signal.SIG_DFL)
                signal.raise_signal(signum)

        handler.marks_stopping = True
        signal.signal(sig, handler)


async def pause(seconds: float, step: float = 0.25) -> bool:
    """Sleep up to `seconds`, waking early when the process starts stopping; True when it is stopping."""
    end = time.monotonic() + seconds
    while not stopping():
        left = end - time.monotonic()
        if left <= 0:
            return False
        await asyncio.sleep(min(step, left))
    return True
