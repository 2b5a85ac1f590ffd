"""Keep the assessment projection current: every worker tries each interval, one process refreshes at a time."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from cityloop.assessment import projection
from cityloop.config import Settings
from cityloop.shared.singleton import only_one
from cityloop.state import AppState


def refresh_once(engine: Engine, factory: sessionmaker[Session], settings: Settings, now: datetime) -> int | None:
    """Fold new events into the projection unless another process is doing it (then None)."""
    with only_one(engine, "assessment-refresh") as mine:
        if not mine:
            return None
        with factory() as session:
            return projection.refresh(session, settings, now)


async def refresh_forever(state: AppState) -> None:
    """The server's projection refresher."""
    import asyncio
    import logging

    from asyncio import to_thread

    while True:
        await asyncio.sleep(state.settings.assessment_refresh_seconds)
        try:
            await to_thread(refresh_once, state.engine, state.session_factory, state.settings,
                                    state.clock.now())
        except Exception:  # noqa: BLE001 - retried next interval, never kills the server
            logging.getLogger("cityloop.assessment").exception("assessment refresh failed")


SERVER_TASKS = (refresh_forever,)
