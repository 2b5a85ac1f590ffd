"""Scheduled job: seal new events into the global audit chain every few seconds; anchor its head periodically."""

from __future__ import annotations

import asyncio
import logging
import time

from asyncio import to_thread

from cityloop.audit.keys import audit_key
from cityloop.audit.service import chain_head, write_anchor
from cityloop.audit.trail import seal_all
from cityloop.shared.singleton import only_one
from cityloop.state import AppState

log = logging.getLogger("cityloop.audit")


def seal_once(state: AppState, anchor: bool, anchored_seq: int = -1) -> tuple[int, int] | None:
    """Seal what is new and, when asked and the head moved past `anchored_seq`, anchor it; None when another
    process holds the lock. Returns (sealed now, chain length)."""
    settings = state.settings
    with only_one(state.engine, "audit-seal") as mine:
        if not mine:
            return None
        with state.session_factory() as session:
            sealed = seal_all(session, audit_key(settings), state.clock.now())
            seq, mac = chain_head(session)
        if anchor and settings.audit_anchor_file is not None and seq and seq != anchored_seq:
            write_anchor(settings.audit_anchor_file, seq, mac, state.clock.now())
        return sealed, seq


async def seal_forever(state: AppState) -> None:
    """The server's sealer: every worker tries each interval, one of them seals (and anchors when due)."""
    settings = state.settings
    last_anchor, anchored_seq = time.monotonic(), -1
    while True:
        await asyncio.sleep(settings.audit_seal_interval_seconds)
        due = time.monotonic() - last_anchor >= settings.audit_anchor_interval_seconds
        try:
            done = await to_thread(seal_once, state, due, anchored_seq)
        except Exception:  # noqa: BLE001 - retried next interval, never kills the server
            log.exception("audit sealing failed")
            continue
        if due and done is not None:
            last_anchor, anchored_seq = time.monotonic(), done[1]


# Started by the server for the life of each worker (see app.lifespan).
SERVER_TASKS = (seal_forever,)
