"""Application factory: create_app(settings) -> FastAPI. Nothing is built at import time."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from functools import partial

from fastapi import FastAPI
from sqlalchemy import Engine

from cityloop.cases import intake
from cityloop.cases.batcher import GroupCommitter
from cityloop.catalog.cache import MatterCache
from cityloop.basemap.http import TileFastPath
from cityloop.config import Settings, get_settings
from cityloop.db import make_engine, make_session_factory
from cityloop.db import leader
from cityloop.db.changes import ChangeBus
from cityloop.shared.clock import Clock, SystemClock
from cityloop.http.openapi import document_problems
from cityloop.http.problems import install_error_handlers
from cityloop.web.pages import error_page
from cityloop.http.middleware import BodyLimit, SecurityHeaders
from cityloop.shared.shutdown import watch_signals


def configure_state(app: FastAPI, settings: Settings, engine: Engine | None = None, session_factory=None,
                    clock: Clock | None = None, read_session_factory=None) -> None:
    """Attach settings, engines, session factories and clock to the app (lifespan or tests).

    Reads (GET) use their own factory: on SQLite its transactions are deferred and take no lock."""
    app.state.settings = settings
    app.state.engine = engine or make_engine(settings.database_url, busy_timeout=settings.db_busy_timeout_seconds,
                                             **settings.engine_options())
    app.state.session_factory = session_factory or make_session_factory(app.state.engine)
    if read_session_factory is None and session_factory is None and app.state.engine.dialect.name == "sqlite":
        app.state.read_engine = make_engine(settings.database_url, readonly=True)
        read_session_factory = make_session_factory(app.state.read_engine)
    app.state.read_session_factory = read_session_factory or app.state.session_factory
    app.state.clock = clock or SystemClock()
    app.state.actor_cache = {}
    app.state.matters = MatterCache(app.state.read_session_factory, settings.catalog_standard)
    app.state.intake = GroupCommitter(app.state.session_factory, partial(intake.write, settings=settings))
    app.state.changes = ChangeBus(app.state.engine, settings.database_session_url)
    _watch_changes(app.state)


def _watch_changes(state) -> None:
    """What each process drops when a change is announced (by itself or, on PostgreSQL, by another host)."""
    from cityloop.catalog import suggest
    from cityloop.sla import service as sla

    bus: ChangeBus = state.changes

    def actor(arg: str) -> None:
        if arg.isdigit():
            state.actor_cache.pop(int(arg), None)
        else:
            state.actor_cache.clear()

    def devices(_: str) -> None:
        ingestor = getattr(state, "sensor_ingestor", None)
        if ingestor is not None:
            ingestor.invalidate()
        listener = getattr(state, "sensor_hj212", None)
        if listener is not None:
            listener.invalidate()

    bus.on("actor", actor)
    bus.on("catalog", lambda _: (state.matters.invalidate(), suggest.invalidate()))
    bus.on("calendar", lambda _: sla.invalidate())
    bus.on("devices", devices)


def create_app(settings: Settings | None = None, *, serving: bool = True, **state) -> FastAPI:
    """Build the API; pass engine/session_factory/clock to share them (tests), else built at startup.

    A server (`serving`) on its own engine refuses to start outside demo mode while users have the demo password."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if serving:
            watch_signals()  # uvicorn's handlers are installed by now: streams end when it is told to stop
            from cityloop.assessment.method import load

            load(settings.assessment_method_file)  # a bad 考核办法 file stops the server with its fault
        if not hasattr(app.state, "session_factory"):
            configure_state(app, settings)
            if serving and not settings.demo:
                from cityloop.org.demo_passwords import refuse_demo_passwords

                with app.state.read_session_factory() as session:
                    refuse_demo_passwords(session)
        if serving:  # build the places index off the request path (see places/store.py)
            from cityloop.places.store import warm

            warm(app.state.read_session_factory)
        own_engine = state.get("engine") is None
        if own_engine:  # a real server or scheduler: hear the other hosts' changes (PostgreSQL)
            app.state.changes.start()
        tasks = leader.start(app.state, _server_tasks(settings.disabled_areas)) if settings.scheduler_in_server else []
        yield
        for task in tasks:
            task.cancel()
        if tasks and app.state.engine.dialect.name == "postgresql":  # let the leader hand its lock back now
            await asyncio.wait(tasks, timeout=3)
        app.state.changes.stop()
        app.state.intake.stop()
        if own_engine:
            app.state.engine.dispose()
            if getattr(app.state, "read_engine", None) is not None:
                app.state.read_engine.dispose()

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


def _server_tasks(disabled: list[str]) -> list:
    """Coroutines each area runs for the life of a worker (`SERVER_TASKS` in its tasks module)."""
    from cityloop.areas import modules

    return [run for module in modules("tasks", disabled) for run in getattr(module, "SERVER_TASKS", ())]


def _mount_routers(app: FastAPI, disabled: list[str]) -> None:
    from cityloop.areas import modules

    for module in modules("router", disabled):
        for router in (module.router, *getattr(module, "extra_routers", ())):
            app.include_router(router)
