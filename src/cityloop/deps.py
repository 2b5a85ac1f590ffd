"""FastAPI dependencies: the app state, settings, session, clock, the authenticated actor, the grid index.

Routes take them as `Annotated` parameters (`state: StateDep`, `session: SessionDep`, `actor: ActorDep`)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from cityloop.state import AppState, app_state
from cityloop.config import Settings
from cityloop.db.changes import stamp, stamp_file
from cityloop.geo.index import GridIndex
from cityloop.org.actor import Actor, actor_from_user
from cityloop.org.models import User
from cityloop.org.security import read_token
from cityloop.org.tokens import TokenVersions, token_versions
from cityloop.shared.clock import Clock
from cityloop.shared.errors import Forbidden, Unauthorized


oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


# The dependencies here are `async def` unless they block: FastAPI runs a plain `def` dependency in a worker thread,
# a hop that costs more than most of them do.

async def get_state(request: Request) -> AppState:
    """The process's AppState (built in create_app)."""
    return app_state(request.app)


async def get_settings_dep(request: Request) -> Settings:
    """The process's settings."""
    return app_state(request.app).settings


async def get_clock(request: Request) -> Clock:
    """The process's clock (tests pass a fixed one)."""
    return app_state(request.app).clock


READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One session per request (a read session for GET); services commit once, the rest is rolled back.

    Created on the event loop: a Session opens no connection until first used, so no thread hop is needed."""
    state = app_state(request.app)
    session = (state.read_session_factory if request.method in READ_METHODS else state.session_factory)()
    try:
        yield session
    finally:
        session.close()


def get_grid_index(request: Request) -> GridIndex:
    """The in-memory grid index of this app, rebuilt when grids change (blocking: it may query)."""
    from cityloop.geo.queries import get_index

    return get_index(app_state(request.app))


async def grid_index(request: Request) -> GridIndex:
    """GridIndexDep: the index as get_grid_index finds it, in a worker thread only when it must be checked."""
    from cityloop.geo.queries import fresh_index, get_index

    state = app_state(request.app)
    index = fresh_index(state)
    return index if index is not None else await run_in_threadpool(get_index, state)


ACTOR_TTL_SECONDS = 30.0  # changed roles take effect within this time; revocation and deactivation at once
ACTOR_CACHE_MAX = 10_000


def _load_actor(state: AppState, user_id: int) -> tuple[Actor, int] | None:
    """The user as an actor and their token version, or None when the user is gone or inactive."""
    with state.read_session_factory() as session:  # never the request's write session: it may not exist yet
        user = session.get(User, user_id)
        return (actor_from_user(user), user.token_version) if user is not None and user.active else None


def _token_versions(state: AppState) -> TokenVersions:
    """The process's token version reads: even a cached actor is checked against the user's current version on
    every request, on every worker (requests arriving together share one query; on a SQLite file, versions are
    kept while the `actor` topic's stamp, touched by every logout, password change and deactivation, stays the
    same)."""
    versions = state.token_versions
    if versions is None:
        bind = state.read_session_factory.kw.get("bind")
        path = stamp_file(bind.url, "actor") if isinstance(bind, Engine) else None  # a SQLite file's
        versions = state.token_versions = TokenVersions(partial(token_versions, state.read_session_factory),
                                                        stamped=partial(stamp, path) if path else None)
    return versions


def _cookie_token(request: Request) -> str | None:
    """The session cookie's token; a state-changing request must echo the CSRF cookie in a header."""
    from cityloop.web.pages import CSRF_COOKIE, CSRF_HEADER, TOKEN_COOKIE

    token = request.cookies.get(TOKEN_COOKIE)
    if token and request.method not in READ_METHODS:
        expected = request.cookies.get(CSRF_COOKIE)
        if not expected or request.headers.get(CSRF_HEADER) != expected:
            raise Forbidden("csrf", "页面已过期，请刷新后重试", "Missing or wrong CSRF token; reload the page")
    return token


_REVOKED = ("invalid-token", "登录已失效，请重新登录", "Invalid or expired token")


async def current_actor(request: Request, token: Annotated[str | None, Depends(oauth2)]) -> Actor:
    """The logged-in user (bearer token, or the pages' session cookie), or 401. The token's signature, expiry and
    version (against the user's, so logout and a new password end it at once) are checked on every request; the
    user's roles are cached briefly."""
    token = token or _cookie_token(request)
    if not token:
        raise Unauthorized("not-authenticated", "请先登录", "Authentication required")
    state = app_state(request.app)
    claims = read_token(state.settings.secret_key, token, state.clock.now())
    if claims is None:
        raise Unauthorized(*_REVOKED)
    user_id, version = claims
    cache = state.actor_cache
    now = time.monotonic()
    hit = cache.get(user_id)
    if hit is not None and hit[0] > now:
        if await _token_versions(state).of(user_id) != version:
            raise Unauthorized(*_REVOKED)
        return hit[1]
    loaded = await run_in_threadpool(_load_actor, state, user_id)
    if loaded is None or loaded[1] != version:
        raise Unauthorized(*_REVOKED)
    if len(cache) >= ACTOR_CACHE_MAX:
        cache.clear()
    cache[user_id] = (now + ACTOR_TTL_SECONDS, loaded[0])
    return loaded[0]


async def optional_actor(request: Request, token: Annotated[str | None, Depends(oauth2)]) -> Actor | None:
    """The logged-in user if a valid token or session came along, else None (pages use it to redirect)."""
    try:
        actor = await current_actor(request, token)
    except (Unauthorized, Forbidden):
        return None
    request.state.actor = actor
    return actor


def require_roles(*roles: str) -> Callable[[Actor], Awaitable[Actor]]:
    """Dependency factory: the actor must have one of these roles (admin always passes)."""

    async def _check(actor: ActorDep) -> Actor:
        if not actor.has(*roles, "admin"):
            raise Forbidden("role-required", f"需要角色：{'/'.join(roles)}", f"Requires role: {'/'.join(roles)}")
        return actor

    return _check


StateDep = Annotated[AppState, Depends(get_state)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
ClockDep = Annotated[Clock, Depends(get_clock)]
SessionDep = Annotated[Session, Depends(get_session)]
ActorDep = Annotated[Actor, Depends(current_actor)]
OptionalActorDep = Annotated[Actor | None, Depends(optional_actor)]
GridIndexDep = Annotated[GridIndex, Depends(grid_index)]
AdminDep = Annotated[Actor, Depends(require_roles("admin"))]
