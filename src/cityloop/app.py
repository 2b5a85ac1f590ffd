"""Application factory: create_app(settings) -> FastAPI. Nothing is built at import time."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import TypedDict, Unpack

from fastapi import FastAPI
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from cityloop.basemap.http import TileFastPath
from cityloop.config import Settings, get_settings
from cityloop.db import leader
from cityloop.db import topic_cache
from cityloop.db.checkpoint import start_checkpointing
from cityloop.shared.clock import Clock
from cityloop.shared.collector import quiet_collector
from cityloop.runtime import build_state
from cityloop.state import AppState, app_state
from cityloop.http.openapi import document_problems
from cityloop.http.problems import install_error_handlers
from cityloop.web.pages import error_page
from cityloop.http.middleware import BodyLimit, SecurityHeaders
from cityloop.shared.shutdown import watch_signals


def configure_state(app: FastAPI, settings: Settings, engine: Engine | None = None,
                    session_factory: sessionmaker[Session] | None = None, clock: Clock | None = None,
                    read_session_factory: sessionmaker[Session] | None = None) -> AppState:
    """Build the app's AppState (lifespan, or tests that pass their engine, sessions and clock) and attach it."""
    state = build_state(settings, engine, session_factory, clock, read_session_factory)
    app.state.cityloop = state
    _watch_changes(state)
    return state


def _watch_changes(state: AppState) -> None:
    """What each process drops when a change is announced (by itself or, on PostgreSQL, by another host)."""
    from cityloop.catalog import suggest
    from cityloop.sla import service as sla

    bus = state.changes

    def actor(arg: str) -> None:
        if arg.isdigit():
            state.actor_cache.pop(int(arg), None)
        else:
            state.actor_cache.clear()

    def devices(_: str) -> None:
        if state.sensor_ingestor is not None:
            state.sensor_ingestor.invalidate()
        if state.sensor_hj212 is not None:
            state.sensor_hj212.invalidate()

    def catalog(_: str) -> None:
        state.matters.invalidate()
        suggest.invalidate()

    bus.on("actor", actor)
    bus.on("catalog", catalog)
    bus.on("calendar", lambda _: sla.invalidate())
    bus.on("devices", devices)
    for topic in ("campaigns", "level_rules"):  # intake's per-batch reads (campaigns and city case_hooks)
        bus.on(topic, partial(_drop_topic, topic))


def _drop_topic(topic: str, _arg: str) -> None:
    topic_cache.invalidate(topic)


class SharedParts(TypedDict, total=False):
    """What a test may hand create_app to share with the app instead of building it (see configure_state)."""

    engine: Engine | None
    session_factory: sessionmaker[Session] | None
    clock: Clock | None
    read_session_factory: sessionmaker[Session] | None


def create_app(settings: Settings | None = None, *, serving: bool = True, **state: Unpack[SharedParts]) -> FastAPI:
    """Build the API; pass engine/session_factory/clock to share them (tests), else built at startup.

    A server (`serving`) on its own engine refuses to start outside demo mode while users have the demo password."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if serving:
            watch_signals()  # uvicorn's handlers are installed by now: streams end when it is told to stop
            from cityloop.assessment.method import load

            load(settings.assessment_method_file)  # a bad 考核办法 file stops the server with its fault
        configured = hasattr(app.state, "cityloop")
        shared = app_state(app) if configured else configure_state(app, settings)
        if not configured and serving and not settings.demo:
            from cityloop.org.demo_passwords import refuse_demo_passwords

            with shared.read_session_factory() as session:
                refuse_demo_passwords(session)
        own_engine = state.get("engine") is None
        # A real server builds its indexes off the request path (see places/store.py). Not an app given its engine
        # (tests): its sessions may share one connection, which a second thread must not use meanwhile.
        if serving and own_engine:
            threading.Thread(target=_warm, args=(shared,), name="warm", daemon=True).start()
        checkpointer = None
        if own_engine:  # a real server or scheduler: hear the other hosts' changes (PostgreSQL)
            shared.changes.start()
            checkpointer = start_checkpointing(settings.database_url)
        tasks = leader.start(shared, _server_tasks(settings.disabled_areas)) if settings.scheduler_in_server else []
        yield
        for task in tasks:
            task.cancel()
        if tasks and shared.engine.dialect.name == "postgresql":  # let the leader hand its lock back now
            await asyncio.wait(tasks, timeout=3)
        shared.changes.stop()
        shared.intake.stop()
        if checkpointer is not None:
            checkpointer.stop()
        if own_engine:
            shared.engine.dispose()
            if shared.read_engine is not None:
                shared.read_engine.dispose()

    app = FastAPI(
        title="CityLoop 数字城管",
        description="数字化城市管理：受理、核实、立案、派遣、处置、核查、结案 / Digital city management: the closed case loop.",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None, redoc_url=None,  # /docs is served by cityloop.web.docs from npm files, not from a CDN
    )
    app.add_middleware(TileFastPath)  # innermost: tiles skip route matching but get the security headers
    app.add_middleware(BodyLimit, limit=settings.max_request_bytes)
    app.add_middleware(SecurityHeaders, tile_url=settings.map_tile_url, hsts=settings.secure_cookies)
    if state:
        configure_state(app, settings, **state)
    install_error_handlers(app, html_page=error_page)
    _mount_routers(app, settings.disabled_areas)
    document_problems(app)
    return app


def _warm(shared: AppState) -> None:
    """Build the places and grid indexes before the first report needs them, then keep the garbage collector off
    everything startup built (measured: ~7 % of a report's CPU went to collections scanning it)."""
    from cityloop.geo.queries import get_index
    from cityloop.places.store import index_for

    try:
        with shared.read_session_factory() as session:
            index_for(session)
        get_index(shared)
    finally:
        quiet_collector()


def _server_tasks(disabled: list[str]) -> list[leader.ServerTask]:
    """Coroutines each area runs for the life of a worker (`SERVER_TASKS` in its tasks module)."""
    from cityloop.areas import modules

    return [run for module in modules("tasks", disabled) for run in getattr(module, "SERVER_TASKS", ())]


def _mount_routers(app: FastAPI, disabled: list[str]) -> None:
    from cityloop.areas import modules

    for module in modules("router", disabled):
        for router in (module.router, *getattr(module, "extra_routers", ())):
            app.include_router(router)
