"""Server task: the 12345 outbox sender (one worker at a time)."""

from __future__ import annotations

import asyncio
import logging

import httpx

from asyncio import to_thread

from cityloop.shared.singleton import only_one
from cityloop.workorders.sender import http_post, send_due
from cityloop.state import AppState

log = logging.getLogger("cityloop.workorders")


def _send_once(state: AppState) -> int:
    settings = state.settings
    with only_one(state.engine, "workorder-sender") as mine:
        if not mine:
            return 0
        with state.session_factory() as session, httpx.Client() as client:
            return send_due(session, settings, state.clock.now(), http_post(settings, client))


async def workorder_sender(state: AppState) -> None:
    """Every workorder_send_interval_seconds, post what is due to the 12345 platform (when one is configured)."""
    while True:
        await asyncio.sleep(state.settings.workorder_send_interval_seconds)
        if not state.settings.workorder_platform_url:
            continue
        try:
            await to_thread(_send_once, state)
        except Exception:  # noqa: BLE001 - retried next round, never kills the server
            log.exception("12345 outbox sender failed")


SERVER_TASKS = (workorder_sender,)
