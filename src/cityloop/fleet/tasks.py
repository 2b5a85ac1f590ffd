"""Server tasks of the fleet area: in demo mode the server runs the JT/T 808 gateway on settings.jt808_port with
its pipeline and drives the demo trucks through it (the port may be taken: then it logs and stays off)."""

from __future__ import annotations
from cityloop.state import AppState


async def gateway_in_demo(state: AppState) -> None:
    """The demo's gateway and simulated fleet, for the life of the worker."""
    settings = state.settings
    if not (settings.demo and settings.fleet_gateway_in_server):
        return
    from cityloop.fleet.runner import run_gateway

    await run_gateway(state, settings.jt808_host, settings.jt808_port, simulate=True)


SERVER_TASKS = (gateway_in_demo,)
