"""FastAPI dependencies: settings, session, clock, the authenticated actor, the grid index."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from fastapi import Depends, Request
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


def get_session(request: Request) -> Iterator[Session]:
    """One session per request; services commit once, anything uncommitted is rolled back."""
    session = request.app.state.session_factory()
    try:
        yield session
    finally:
        session.close()


def get_grid_index(request: Request):
    """The in-memory grid index of this app, rebuilt when grids change."""
    from cityloop.geo.service import get_index

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


def current_actor(
    request: Request, token: str | None = Depends(oauth2), session: Session = Depends(get_session)
) -> Actor:
    """The logged-in user, or 401."""
    if not token:
        raise Unauthorized("not-authenticated", "请先登录", "Authentication required")
    user_id = read_token(request.app.state.settings.secret_key, token)
    user = session.get(User, user_id) if user_id is not None else None
    if user is None or not user.active:
        raise Unauthorized("invalid-token", "登录已失效，请重新登录", "Invalid or expired token")
    return actor_from_user(user)


def optional_actor(
    request: Request, token: str | None = Depends(oauth2), session: Session = Depends(get_session)
) -> Actor | None:
    """The logged-in user if a valid token came along, else None."""
    if not token:
        return None
    try:
        return current_actor(request, token, session)
    except Unauthorized:
        return None


def require_roles(*roles: str):
    """Dependency factory: the actor must have one of these roles (admin always passes)."""

    def _check(actor: Actor = Depends(current_actor)) -> Actor:
        if not actor.has(*roles, "admin"):
            raise Forbidden("role-required", f"需要角色：{'/'.join(roles)}", f"Requires role: {'/'.join(roles)}")
        return actor

    return _check
