"""Long-running commands stop on SIGTERM as on Ctrl-C: the main task is cancelled, so its `finally` blocks flush
what was acknowledged (systemd stops a unit with SIGTERM; the default action would kill it mid-batch)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Coroutine
from typing import Any


async def until_signalled(coro: Coroutine[Any, Any, object]) -> None:
    """Run `coro` until it ends or the process gets SIGTERM or SIGINT (then cancel it and wait for its cleanup)."""
    task = asyncio.ensure_future(coro)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(ValueError, RuntimeError, NotImplementedError):  # not the main thread (tests)
            loop.add_signal_handler(sig, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await task
