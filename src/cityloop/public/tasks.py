"""Server task: the 追呼 dialer, one worker at a time, every public_dialer_interval_seconds."""

from __future__ import annotations

import asyncio
import logging

from asyncio import to_thread

from cityloop.public.dialer import dial_due
from cityloop.public.telephony import Telephony, telephony_for
from cityloop.shared.singleton import only_one
from cityloop.state import AppState

log = logging.getLogger("cityloop.public")


def telephony_of(state: AppState) -> Telephony | None:
    """The app's telephony port (tests may set state.public_telephony), made once per worker."""
    if not state.public_telephony_made:
        state.public_telephony, state.public_telephony_made = telephony_for(state.settings), True
    return state.public_telephony


def dial_once(state: AppState) -> int:
    """One dialer pass if this process holds the dialer lock; the number of calls made."""
    telephony = telephony_of(state)
    if telephony is None:
        return 0
    with only_one(state.engine, "public-dialer") as mine:
        if not mine:
            return 0
        return dial_due(state.session_factory, state.settings, telephony, state.clock)


async def dialer(state: AppState) -> None:
    """Call the due 追呼 numbers for the life of the worker."""
    if telephony_of(state) is None:
        log.info("追呼: no voice gateway configured (CITYLOOP_PUBLIC_VOICE_GATEWAY_URL); the dialer is idle")
        return
    while True:
        await asyncio.sleep(state.settings.public_dialer_interval_seconds)
        try:
            await to_thread(dial_once, state)
        except Exception:  # noqa: BLE001 - retried next round, never kills the server
            log.exception("public dialer failed")


# Started by the server for the life of each worker (see app.lifespan).
SERVER_TASKS = (dialer,)
