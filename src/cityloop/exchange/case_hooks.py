"""The transactional outbox: every case event becomes an outbox row in the same transaction (when an upper
platform is configured), carrying the case's shape after it and the previous event this outbox holds."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, insert, select

from cityloop.exchange.domain import PROTOCOL_VERSION, event_id
from cityloop.exchange.models import OutboxRow
from cityloop.config import Settings
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from cityloop.cases.api import Case

# Personal data stays in the county: reporters' names and phones are not sent up.
PRIVATE_KEYS = frozenset({"reporter_phone", "reporter_name", "phone", "contact", "callback_phone"})
CASE_FIELDS = ("number", "category_code", "source", "stage", "district_code", "street_code", "grid_code",
               "lon", "lat", "address", "urgent", "node", "node_due_at", "required_due_at", "overdue",
               "rework_count", "created_at", "closed_at")


def iso(value: Any) -> Any:
    """Datetimes as ISO 8601 text; other values unchanged."""
    return value.isoformat() if isinstance(value, datetime) else value


# One advisory lock for the outbox (any constant; only outbox writers take it).
OUTBOX_LOCK = 0x636C6F62


def outbox_turn(session: Session) -> None:
    """Wait for this transaction's turn to write outbox rows, held until it ends (PostgreSQL).

    Rows then get their ids in commit order. Without it, a row numbered 100 can commit after 101 was sent and
    acknowledged, and the sender, which sends and acknowledges in id order, passes over it: the upper platform never
    gets that event and parks the case's later ones. SQLite writers take turns anyway."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(OUTBOX_LOCK)))


def platform_code(settings: Settings) -> str:
    """This platform's code in the exchange (its key id)."""
    return settings.exchange_platform_code or settings.admin_code


def case_message(platform: str, case: Case, event: dict[str, Any], prev_seq: int | None) -> dict[str, Any]:
    """The case.event message body for one event."""
    snapshot = {f: iso(getattr(case, f, None)) for f in CASE_FIELDS}
    snapshot["id"] = case.id
    if event["seq"] == 1 or event["action"] == "report":
        snapshot["description"] = case.description
    payload = {k: iso(v) for k, v in (event.get("payload") or {}).items() if k not in PRIVATE_KEYS}
    return {"v": PROTOCOL_VERSION, "kind": "case.event", "event_id": event_id(platform, case.id, event["seq"]),
            "case": snapshot, "seq": event["seq"], "prev_seq": prev_seq, "action": event["action"],
            "actor_role": event["actor_role"], "at": iso(event["at"]), "from_stage": event.get("from_stage"),
            "to_stage": event["to_stage"], "payload": payload}


def on_case_events(session: Session, settings: Settings, items: Sequence[tuple[Case, dict[str, Any]]]) -> None:
    """Append one outbox row per case event (never commits)."""
    if not settings.exchange_upstream_url:
        return
    platform = platform_code(settings)
    last: dict[int, int | None] = {}
    rows: list[dict[str, Any]] = []
    for case, event in items:
        if case.id not in last:
            last[case.id] = None if event["seq"] == 1 else session.scalar(
                select(func.max(OutboxRow.case_seq)).where(OutboxRow.case_id == case.id))
        body = case_message(platform, case, event, last[case.id])
        last[case.id] = event["seq"]
        rows.append({"event_id": body["event_id"], "kind": "case.event", "case_id": case.id,
                     "case_seq": event["seq"], "body": body, "created_at": event["at"]})
    outbox_turn(session)
    session.execute(insert(OutboxRow), rows)
