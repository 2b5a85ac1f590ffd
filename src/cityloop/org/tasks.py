"""Server task: forget quiet login-throttle counters, one worker at a time."""

from __future__ import annotations

import asyncio
import logging

from asyncio import to_thread

from cityloop.org import throttle
from cityloop.shared.singleton import only_one
from cityloop.state import AppState

log = logging.getLogger("cityloop.org")
PURGE_EVERY_SECONDS = 600


def purge_once(state: AppState) -> int | None:
    """Delete stale counters; None when another worker holds the lock."""
    with only_one(state.engine, "org-login-throttle") as mine:
        if not mine:
            return None
        with state.session_factory() as session:
            gone = throttle.purge(session, state.settings, state.clock.now())
            session.commit()
        return gone


async def purge_forever(state: AppState) -> None:
    """Runs for the life of a worker; a failed round is logged and retried next interval."""
    while True:
        await asyncio.sleep(PURGE_EVERY_SECONDS)
        try:
            await to_thread(purge_once, state)
        except Exception:  # noqa: BLE001 - never let housekeeping stop the server
            log.exception("login throttle purge failed")


SERVER_TASKS = (purge_forever,)
