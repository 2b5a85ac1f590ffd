"""FastAPI dependencies: settings, session, clock, the authenticated actor, the grid index."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session

from cityloop.config import Settings
from cityloop.org.models import User
from cityloop.org.security import read_token
from cityloop.shared.clock import Clock
from cityloop.shared.errors import Forbidden, Unauthorized

oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


def get_clock(request: Request) -> Clock:
    return request.app.state.clock


READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One session per request (a read session for GET); services commit once, the rest is rolled back.

    Created on the event loop: a Session opens no connection until first used, so no thread hop is needed."""
    state = request.app.state
    session = (state.read_session_factory if request.method in READ_METHODS else state.session_factory)()
    try:
        yield session
    finally:
        session.close()


def get_grid_index(request: Request):
    """The in-memory grid index of this app, rebuilt when grids change."""
    from cityloop.geo.queries import get_index

    return get_index(request.app.state)


@dataclass
class Actor:
    """Who is acting: the user and their roles."""

    id: int | None
    username: str
    display_name: str
    roles: frozenset[str]
    department_id: int | None = None
    extra: dict = field(default_factory=dict)

    def has(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))


SYSTEM_ACTOR = Actor(id=None, username="system", display_name="系统", roles=frozenset({"system"}))


def actor_from_user(user: User) -> Actor:
    """Snapshot of a user as an actor."""
    return Actor(user.id, user.username, user.display_name, frozenset(user.role_names), user.department_id)


ACTOR_TTL_SECONDS = 30.0  # a deactivated user or changed roles take effect within this time
ACTOR_CACHE_MAX = 10_000


def _load_actor(state, user_id: int) -> Actor | None:
    with state.read_session_factory() as session:  # never the request's write session: it may not exist yet
        user = session.get(User, user_id)
        return actor_from_user(user) if user is not None and user.active else None


def _cookie_token(request: Request) -> str | None:
    """The session cookie's token; a state-changing request must echo the CSRF cookie in a header."""
    from cityloop.web.pages import CSRF_COOKIE, CSRF_HEADER, TOKEN_COOKIE

    token = request.cookies.get(TOKEN_COOKIE)
    if token and request.method not in READ_METHODS:
        expected = request.cookies.get(CSRF_COOKIE)
        if not expected or request.headers.get(CSRF_HEADER) != expected:
            raise Forbidden("csrf", "页面已过期，请刷新后重试", "Missing or wrong CSRF token; reload the page")
    return token


async def current_actor(request: Request, token: str | None = Depends(oauth2)) -> Actor:
    """The logged-in user (bearer token, or the pages' session cookie), or 401. The token is verified on every
    request; the user is cached briefly."""
    token = token or _cookie_token(request)
    if not token:
        raise Unauthorized("not-authenticated", "请先登录", "Authentication required")
    state = request.app.state
    user_id = read_token(state.settings.secret_key, token, state.clock.now())
    if user_id is None:
        raise Unauthorized("invalid-token", "登录已失效，请重新登录", "Invalid or expired token")
    cache = state.actor_cache
    now = time.monotonic()
    hit = cache.get(user_id)
    if hit is not None and hit[0] > now:
        return hit[1]
    actor = await run_in_threadpool(_load_actor, state, user_id)
    if actor is None:
        raise Unauthorized("invalid-token", "登录已失效，请重新登录", "Invalid or expired token")
    if len(cache) >= ACTOR_CACHE_MAX:
        cache.clear()
    cache[user_id] = (now + ACTOR_TTL_SECONDS, actor)
    return actor


async def optional_actor(request: Request, token: str | None = Depends(oauth2)) -> Actor | None:
    """The logged-in user if a valid token or session came along, else None (pages use it to redirect)."""
    try:
        actor = await current_actor(request, token)
    except (Unauthorized, Forbidden):
        return None
    request.state.actor = actor
    return actor


def require_roles(*roles: str):
    """Dependency factory: the actor must have one of these roles (admin always passes)."""

    def _check(actor: Actor = Depends(current_actor)) -> Actor:
        if not actor.has(*roles, "admin"):
            raise Forbidden("role-required", f"需要角色：{'/'.join(roles)}", f"Requires role: {'/'.join(roles)}")
        return actor

    return _check
