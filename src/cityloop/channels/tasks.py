"""Server task: check new case photos (EXIF, perceptual hash) and forget old rate-limit counters, one worker at a
time."""

from __future__ import annotations

import asyncio
import logging

from asyncio import to_thread

from cityloop.channels import evidence, service
from cityloop.shared.singleton import only_one
from cityloop.state import AppState

log = logging.getLogger("cityloop.channels")


def check_once(state: AppState) -> int | None:
    """One round: photos not checked yet (in batches) and stale counters; None when another worker holds the lock."""
    with only_one(state.engine, "channels-evidence") as mine:
        if not mine:
            return None
        done = 0
        with state.session_factory() as session:
            while (n := evidence.examine(session, state.settings, state.clock.now())) > 0:
                done += n
            service.purge_limits(session, state.clock.now())
            session.commit()
        return done


async def check_photos_forever(state: AppState) -> None:
    """Runs for the life of a worker; a failed round is logged and retried next interval."""
    while True:
        await asyncio.sleep(state.settings.evidence_interval_seconds)
        try:
            await to_thread(check_once, state)
        except Exception:  # noqa: BLE001 - never let a bad photo stop the server
            log.exception("photo evidence check failed")


SERVER_TASKS = (check_photos_forever,)
