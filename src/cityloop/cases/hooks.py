"""Other areas follow case events inside the same transaction (a transactional outbox needs exactly that).

An area that wants them defines `cityloop.<area>.case_hooks.on_case_events(session, settings, items)`, where
`settings` are the app's and `items` is a
list of `(case, event)`: the `Case` row and a dict of the event's fields (seq, action, actor_id, actor_name,
actor_role, at, from_stage, to_stage, payload). Hooks add rows to the session; they never commit."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any, TYPE_CHECKING

from sqlalchemy.orm import Session

from cityloop import areas
from cityloop.config import Settings

if TYPE_CHECKING:
    from cityloop.cases.models import Case

# What a listener receives: the transaction's new events as (case row, event fields).
CaseEvents = list[tuple["Case", dict[str, Any]]]
Listener = Callable[[Session, Settings, CaseEvents], None]


@cache
def listeners() -> tuple[Listener, ...]:
    """Every area's `on_case_events`, found once."""
    return tuple(m.on_case_events for m in areas.modules("case_hooks") if hasattr(m, "on_case_events"))


def emit(session: Session, settings: Settings, items: CaseEvents) -> None:
    """Hand a transaction's new case events to every listening area."""
    if not items:
        return
    for listener in listeners():
        listener(session, settings, items)
