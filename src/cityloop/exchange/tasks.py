"""Server task (county side): the sender, in one worker at a time; a full batch is followed at once by the next."""

from __future__ import annotations

import asyncio
import logging

import httpx
from asyncio import to_thread

from cityloop.exchange import sender
from cityloop.shared.singleton import only_one
from cityloop.state import AppState

log = logging.getLogger("cityloop.exchange")


def send_round(state: AppState, client: httpx.Client) -> int | None:
    """Send batches while full ones go through; None when another worker is the sender."""
    from cityloop.geo.queries import get_index
    from cityloop.sla.service import calendar

    with only_one(state.engine, "exchange-sender") as mine:
        if not mine:
            return None
        total = 0
        while True:
            with state.session_factory() as session:
                n = sender.send_once(session, state.settings, state.clock.now(), client,
                                     locate=get_index(state).locate, cal=calendar(session, state.settings))
            if n < 0:
                return total
            total += n
            if n < state.settings.exchange_batch_size:
                return total


async def send_forever(state: AppState) -> None:
    """Runs for the life of a worker when an upper platform is configured."""
    if not state.settings.exchange_upstream_url:
        return
    with httpx.Client() as client:
        while True:
            try:
                await to_thread(send_round, state, client)
            except Exception:  # noqa: BLE001 - the sender must outlive any one failure
                log.exception("exchange sender round failed")
            await asyncio.sleep(state.settings.exchange_interval_seconds)


SERVER_TASKS = (send_forever,)
