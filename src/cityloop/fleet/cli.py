"""`cityloop gateway jt808` runs the JT/T 808 gateway; `cityloop simulate trucks` drives simulated muck trucks.

The `gateway` group is meant to hold every device gateway (HJ 212 joins it as `cityloop gateway hj212`)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, Optional

import typer
from rich.console import Console

if TYPE_CHECKING:
    from cityloop.state import AppState

app = typer.Typer(help="接入网关 / device gateways", no_args_is_help=True)
CLI_NAME, CLI_HELP = "gateway", "接入网关 / device gateways (JT/T 808 …)"
simulate_app = typer.Typer()
console = Console()


def _state() -> AppState:
    from cityloop.runtime import build_state
    from cityloop.cli import _settings
    from cityloop.db import make_engine, make_session_factory
    from cityloop.shared.clock import SystemClock

    settings = _settings()
    engine = make_engine(settings.database_url)
    reads = make_engine(settings.database_url, readonly=True) if settings.is_sqlite else engine
    return build_state(settings, engine=engine, session_factory=make_session_factory(engine), clock=SystemClock(),
                       read_session_factory=make_session_factory(reads))


def _run(coro: Coroutine[Any, Any, object]) -> None:
    """Run until done, or until SIGTERM/SIGINT (then the coroutine's cleanup flushes what it holds)."""
    from cityloop.shared.signals import until_signalled

    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
        asyncio.run(until_signalled(coro))
    else:
        uvloop.run(until_signalled(coro))


@app.command("jt808")
def jt808(port: Optional[int] = typer.Option(None, help="TCP port (default: CITYLOOP_JT808_PORT, 7808)"),
          host: str = typer.Option("0.0.0.0", help="address to listen on")) -> None:
    """JT/T 808 (2013/2019) gateway for Beidou/GPS terminals; positions go through the violation rules."""
    from cityloop.fleet.runner import run_gateway

    from cityloop.db.checkpoint import start_checkpointing

    state = _state()
    port = state.settings.jt808_port if port is None else port
    start_checkpointing(state.settings.database_url)  # a daemon thread: ends with the process

    def started(bound: int) -> None:
        console.print(f"[green]JT/T 808 网关已启动 / gateway listening[/green] {host}:{bound}")

    _run(run_gateway(state, host, port, started=started, dedicated=True))
    console.print("已停止 / stopped")


@simulate_app.command("trucks")
def trucks(vehicles: int = typer.Option(2000, help="how many trucks (simulated ones are added when missing)"),
           host: str = "127.0.0.1", port: Optional[int] = typer.Option(None, help="gateway port (JT/T 808)"),
           http: Optional[str] = typer.Option(None, help="post JSON to this server instead (http://…:8000)"),
           token: Optional[str] = typer.Option(None, help="X-Fleet-Token for --http"),
           user: Optional[str] = typer.Option(None, help="or log in as this reviewer for --http"),
           password: Optional[str] = typer.Option(None),
           interval: float = typer.Option(10.0, help="seconds between reports of one truck"),
           duration: Optional[float] = typer.Option(None, help="stop after this many seconds"),
           seed: int = 0) -> None:
    """Drive simulated muck trucks on the demo county's roads: compliant, speeders, route-leavers, night haulers,
    unpermitted trucks, dumpers and terminals that go silent."""
    from collections import Counter
    from datetime import datetime

    from cityloop.fleet.demo import ensure_fleet
    from cityloop.fleet.ingest import load_world
    from cityloop.fleet.runner import drive_http, drive_tcp
    from cityloop.fleet.simulate import plans_from_db
    from cityloop.fleet.world import World

    state = _state()
    now = state.clock.now()
    with state.session_factory() as session:
        added = ensure_fleet(session, state.settings, vehicles, now)
        spec = load_world(session, None)
        plans = plans_from_db(session, spec, now, seed, limit=vehicles)
    console.print(f"{len(plans)} 辆车 / trucks ({added} added): {dict(Counter(p.behaviour for p in plans))}")
    world = World(spec)

    def tick(n: int) -> None:
        console.print(f"{datetime.now():%H:%M:%S} → {n} 条定位 / positions")

    if http:
        headers = {"X-Fleet-Token": token} if token else {}
        if user:
            import httpx

            got = httpx.post(f"{http}/api/v1/auth/token", data={"username": user, "password": password or ""})
            got.raise_for_status()
            headers = {"Authorization": f"Bearer {got.json()['access_token']}"}
        _run(drive_http(plans, world, http, headers, interval, duration, seed, tick))
    else:
        _run(drive_tcp(plans, world, host, port or state.settings.jt808_port, interval, duration, seed, tick))
