"""Application factory: create_app(settings) -> FastAPI. Nothing is built at import time."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import ORJSONResponse
from sqlalchemy import Engine

from cityloop.config import Settings, get_settings
from cityloop.db import make_engine, make_session_factory
from cityloop.shared.clock import Clock, SystemClock
from cityloop.shared.errors import install_error_handlers


def configure_state(app: FastAPI, settings: Settings, engine: Engine | None = None, session_factory=None,
                    clock: Clock | None = None) -> None:
    """Attach settings, engine, session factory and clock to the app (lifespan or tests)."""
    app.state.settings = settings
    app.state.engine = engine or make_engine(settings.database_url)
    app.state.session_factory = session_factory or make_session_factory(app.state.engine)
    app.state.clock = clock or SystemClock()


def create_app(settings: Settings | None = None, **state) -> FastAPI:
    """Build the API; pass engine/session_factory/clock to share them (tests), else built at startup."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if not hasattr(app.state, "session_factory"):
            configure_state(app, settings)
        yield
        if state.get("engine") is None:
            app.state.engine.dispose()

    app = FastAPI(
        title="CityLoop 数字城管",
        description="数字化城市管理：受理、核实、立案、派遣、处置、核查、结案 / Digital city management: the closed case loop.",
        version="0.1.0",
        lifespan=lifespan,
        default_response_class=ORJSONResponse,
    )
    if state:
        configure_state(app, settings, **state)
    install_error_handlers(app)
    _mount_routers(app)
    return app


def _mount_routers(app: FastAPI) -> None:
    from cityloop.cases.router import router as cases_router
    from cityloop.catalog.router import router as catalog_router
    from cityloop.geo.router import router as geo_router
    from cityloop.org.router import router as org_router
    from cityloop.sla.router import router as sla_router
    from cityloop.web.router import router as web_router

    for router in (org_router, cases_router, catalog_router, geo_router, sla_router, web_router):
        app.include_router(router)
