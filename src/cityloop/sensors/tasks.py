"""Server tasks: the timed sensor jobs (offline check, rollups, retention; one worker at a time), the periodic
persistence of rule state, and — in demo mode — a gentle live simulation fed through the same ingestion path, and
the HJ 212 listener (one worker binds the port) with the demo's dust and noise stations talking to it over TCP."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from typing import Any

from asyncio import to_thread
from sqlalchemy import select

from cityloop.sensors import simulate
from cityloop.sensors.models import Device
from cityloop.sensors.service import JobClock, get_ingestor, run_jobs
from cityloop.shared.singleton import only_one
from cityloop.state import AppState

log = logging.getLogger("cityloop.sensors")


def _jobs_once(state: AppState, clock: JobClock) -> None:
    ingestor = get_ingestor(state)
    with only_one(state.engine, "sensor-jobs") as mine:
        if mine:
            run_jobs(ingestor, state.clock.now(), clock.retention_due())


async def sensor_jobs(state: AppState) -> None:
    """Persist this worker's rule state often; run the timed jobs every sensor_jobs_interval_seconds."""
    settings = state.settings
    clock, last = JobClock(), time.monotonic()
    while True:
        await asyncio.sleep(settings.sensor_state_flush_seconds)
        try:
            ingestor = getattr(state, "sensor_ingestor", None)
            if ingestor is not None:
                await to_thread(ingestor.flush_state)
            if time.monotonic() - last >= settings.sensor_jobs_interval_seconds:
                last = time.monotonic()
                await to_thread(_jobs_once, state, clock)
        except Exception:  # noqa: BLE001 - retried next round, never kills the server
            log.exception("sensor jobs failed")


def _devices(state: AppState) -> list[tuple[str, str]]:
    stmt = select(Device.code, Device.type).where(Device.state == "active").order_by(Device.code)
    if getattr(state, "sensor_hj212", None) is not None:  # HJ 212 stations talk to the listener themselves
        stmt = stmt.where(Device.hj212_mn.is_(None))
    with state.read_session_factory() as session:
        return [(code, kind) for code, kind in session.execute(stmt)]


async def demo_feed(state: AppState) -> None:
    """Demo only: every few seconds, quiet readings for every device and now and then a short incident."""
    if not state.settings.demo:
        return
    with only_one(state.engine, "sensor-demo-feed") as mine:
        if not mine:
            return
        rng = random.Random()
        incident: dict[str, Any] = {}
        while True:
            await asyncio.sleep(state.settings.sensor_demo_interval_seconds)
            try:
                devices = await to_thread(_devices, state)
                if devices:
                    readings = simulate.gentle(devices, state.clock.now().timestamp(), rng, incident)
                    await to_thread(get_ingestor(state).ingest_items, readings)
            except Exception:  # noqa: BLE001 - the demo feed keeps going
                log.exception("demo sensor feed failed")


async def hj212_listener(state: AppState) -> None:
    """Demo only: the HJ 212 listener on settings.sensor_hj212_port in one worker (the others return quietly; so
    does a worker that finds the port taken), with the demo's HJ 212 stations sending to it over TCP."""
    settings = state.settings
    if not settings.demo:
        return
    from cityloop.sensors.hj212_listener import Listener
    from cityloop.sensors.hj212_sim import demo_stations

    with only_one(state.engine, "hj212-listener") as mine:
        if not mine:
            return
        listener = Listener(get_ingestor(state), state.read_session_factory, settings)
        try:
            port = await listener.start(settings.sensor_hj212_host, settings.sensor_hj212_port)
        except OSError as exc:
            log.warning("HJ 212 listener not started on %s:%s: %s", settings.sensor_hj212_host,
                        settings.sensor_hj212_port, exc)
            return
        log.info("HJ 212 listener on %s:%s", settings.sensor_hj212_host, port)
        state.sensor_hj212 = listener
        try:
            host = "127.0.0.1" if settings.sensor_hj212_host in ("0.0.0.0", "", "::") else settings.sensor_hj212_host
            await demo_stations(state, host, port, settings.sensor_demo_interval_seconds)
            await asyncio.Event().wait()  # no stations: keep listening
        finally:
            state.sensor_hj212 = None
            await listener.close()


# Started by the server for the life of each worker (see app.lifespan).
SERVER_TASKS = (sensor_jobs, demo_feed, hj212_listener)
