"""The server process is stopping: SIGTERM/SIGINT mark it, so long-lived responses (Server-Sent Events) end and
uvicorn, which waits for every open response before it exits, can stop. Uvicorn's own handlers still run."""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

_stopping = threading.Event()
SIGNALS = (signal.SIGTERM, signal.SIGINT)


def stopping() -> bool:
    """True once the process got SIGTERM or SIGINT."""
    return _stopping.is_set()


Handler = Callable[[int, FrameType | None], Any] | int | signal.Handlers | None  # what signal.getsignal returns


class _Marker:
    """A SIGTERM/SIGINT handler that marks the process as stopping, then runs the handler it stands in front of."""

    marks_stopping = True

    def __init__(self, previous: Handler) -> None:
        self.previous = previous

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        _stopping.set()  # nothing ever waits on it, so its lock is free when the signal arrives
        if callable(self.previous):
            self.previous(signum, frame)
        elif self.previous == signal.SIG_DFL:
            signal.signal(signum, signal.SIG_DFL)
            signal.raise_signal(signum)


def watch_signals() -> None:
    """Put a marker in front of the current SIGTERM/SIGINT handlers (main thread only: a no-op in test threads)."""
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in SIGNALS:
        previous = signal.getsignal(sig)
        if getattr(previous, "marks_stopping", False):
            continue
        signal.signal(sig, _Marker(previous))


async def pause(seconds: float, step: float = 0.25) -> bool:
    """Sleep up to `seconds`, waking early when the process starts stopping; True when it is stopping."""
    end = time.monotonic() + seconds
    while not stopping():
        left = end - time.monotonic()
        if left <= 0:
            return False
        await asyncio.sleep(min(step, left))
    return True
