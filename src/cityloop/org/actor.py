"""Who is acting: a snapshot of a user (or the system) that services take instead of a request."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cityloop.org.models import User


@dataclass
class Actor:
    """Who is acting: the user and their roles."""

    id: int | None
    username: str
    display_name: str
    roles: frozenset[str]
    department_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    district_code: str | None = None  # city mode: a district center's staff (None = the city center)

    def has(self, *roles: str) -> bool:
        """True when the actor holds any of `roles`."""
        return bool(self.roles.intersection(roles))


SYSTEM_ACTOR = Actor(id=None, username="system", display_name="系统", roles=frozenset({"system"}))


def actor_from_user(user: User) -> Actor:
    """Snapshot of a user as an actor."""
    return Actor(user.id, user.username, user.display_name, frozenset(user.role_names), user.department_id,
                 district_code=user.district_code)
