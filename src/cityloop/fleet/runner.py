"""Running the pieces together: the gateway with its pipeline (the CLI and the demo server use the same code),
the MQTT subscriber, and the simulated fleet driving over JT/T 808 or JSON over HTTP."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import datetime, timezone

from cityloop.fleet.gateway import Gateway
from cityloop.fleet.ingest import Pipeline, get_pipeline, load_world
from cityloop.fleet.simulate import Fleet, Plan, Report, plans_from_db
from cityloop.shared.collector import quiet_collector
from cityloop.fleet.terminal import Terminal, TerminalError
from cityloop.fleet.world import World
from cityloop.state import AppState

log = logging.getLogger("cityloop.fleet")


def refresh(state: AppState, pipeline: Pipeline) -> None:
    """Reload registry and world if they changed (runs in a thread)."""
    with state.read_session_factory() as session:
        pipeline.refresh(session)


async def run_gateway(state: AppState, host: str, port: int, started: Callable[[int], None] | None = None,
                      simulate: bool = False, dedicated: bool = False) -> None:
    """The JT/T 808 gateway with this process's pipeline (and MQTT, and the demo fleet) until cancelled;
    `dedicated`: the process does nothing else (`cityloop gateway jt808`), so its garbage collector is tuned."""
    settings, pipeline = state.settings, get_pipeline(state)
    await asyncio.to_thread(refresh, state, pipeline)
    if dedicated:
        quiet_collector()
    gw = Gateway(pipeline.directory, pipeline.submit, accept_bad_checksum=settings.jt808_accept_bad_checksum,
                 idle_seconds=settings.jt808_idle_seconds)
    try:
        bound = await gw.start(host, port)
    except OSError as exc:
        log.warning("JT/T 808 gateway not started on %s:%s: %s", host, port, exc)
        return
    state.fleet_gateway, state.fleet_gateway_port = gw, bound
    log.info("JT/T 808 gateway listening on %s:%s", host, bound)
    if started:
        started(bound)
    jobs = [gw.housekeeping(), _keep_fresh(state, pipeline)]
    if settings.fleet_mqtt_url:
        from cityloop.fleet.mqtt import subscribe

        jobs.append(subscribe(state, pipeline))
    if simulate:
        jobs.append(_demo_fleet(state, bound))
    try:
        await asyncio.gather(*jobs)
    finally:
        gw.close()
        state.fleet_gateway = None
        await asyncio.to_thread(pipeline.stop)


async def _keep_fresh(state: AppState, pipeline: Pipeline, every: float = 5.0) -> None:
    while True:
        await asyncio.sleep(every)
        try:
            await asyncio.to_thread(refresh, state, pipeline)
        except Exception:  # noqa: BLE001 - retried next time
            log.exception("fleet refresh failed")


async def _demo_fleet(state: AppState, port: int) -> None:
    """The demo server's gentle fleet: the vehicles that exist at start, one report each every 15 s."""
    def plans() -> tuple[list[Plan], World]:
        with state.read_session_factory() as session:
            spec = load_world(session, None)
            return plans_from_db(session, spec, state.clock.now()), World(spec)

    found, world = await asyncio.to_thread(plans)
    if found:
        await drive_tcp(found, world, "127.0.0.1", port, interval=15.0)


async def _connect(plan: Plan, host: str, port: int, gate: asyncio.Semaphore, tries: int = 4) -> Terminal | None:
    """Connect and log in; like real terminals, try again a little later (the registry may be catching up)."""
    for attempt in range(tries):
        term = Terminal(plan.phone)
        async with gate:
            try:
                await term.connect(host, port)
                await term.login(plan.plate)
                return term
            except (OSError, TerminalError, asyncio.TimeoutError) as exc:
                await term.close()
                if attempt == tries - 1:
                    log.warning("simulated terminal %s could not log in: %s", plan.phone, exc)
        await asyncio.sleep(3.0)
    return None


async def drive_tcp(plans: list[Plan], world: World, host: str, port: int, interval: float = 10.0,
                    duration: float | None = None, seed: int = 0, on_tick: Callable[[int], None] | None = None) -> int:
    """Drive simulated trucks, each as a JT/T 808 terminal; returns how many locations the gateway accepted."""
    gate = asyncio.Semaphore(200)
    terms = await asyncio.gather(*(_connect(p, host, port, gate) for p in plans))
    fleet = Fleet(plans, world, time.time(), seed)
    by_vehicle = {p.vehicle_id: t for p, t in zip(plans, terms) if t is not None}
    accepted, end = 0, None if duration is None else time.monotonic() + duration

    async def send(term: Terminal, report: Report) -> int:
        async with gate:
            try:
                return int(await term.report(report.location()) == 0)
            except (OSError, TerminalError, asyncio.TimeoutError):
                return 0

    try:
        while end is None or time.monotonic() < end:
            tick = time.monotonic()
            reports = [r for r in fleet.reports(time.time()) if r.vehicle_id in by_vehicle]
            done = sum(await asyncio.gather(*(send(by_vehicle[r.vehicle_id], r) for r in reports)))
            accepted += done
            if on_tick:
                on_tick(done)
            await asyncio.sleep(max(0.0, interval - (time.monotonic() - tick)))
    finally:
        await asyncio.gather(*(t.close() for t in by_vehicle.values()))
    return accepted


async def drive_http(plans: list[Plan], world: World, url: str, headers: dict[str, str], interval: float = 10.0,
                     duration: float | None = None, seed: int = 0, on_tick: Callable[[int], None] | None = None) -> int:
    """Drive simulated trucks, posting JSON positions to /api/v1/fleet/positions; returns how many were stored."""
    import httpx

    fleet = Fleet(plans, world, time.time(), seed)
    stored, end = 0, None if duration is None else time.monotonic() + duration
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as client:
        while end is None or time.monotonic() < end:
            tick = time.monotonic()
            reports = fleet.reports(time.time())
            for i in range(0, len(reports), 2000):
                body = {"positions": [{"phone": r.phone, "time": datetime.fromtimestamp(r.t, timezone.utc).isoformat(),
                                       "lon": r.lon, "lat": r.lat, "speed": r.speed, "heading": r.heading,
                                       "load": r.load} for r in reports[i:i + 2000]]}
                response = await client.post("/api/v1/fleet/positions", json=body)
                response.raise_for_status()
                stored += response.json()["stored"]
            if on_tick:
                on_tick(len(reports))
            await asyncio.sleep(max(0.0, interval - (time.monotonic() - tick)))
    return stored
