"""The one notification service every area uses.

    from cityloop.notify.service import Recipients, publish
    publish(session, "dispatched", {"case_number": ..., ...}, recipients=Recipients(departments=[dept_id]),
            event_key=f"case:{case.id}:{seq}")

`publish` adds rows to the caller's session and never commits: the messages exist exactly when the caller's
transaction commits (a transactional outbox). It resolves the recipients' subscriptions (per user, per role, and a
department's group robots), renders the templates (notify_templates rows, else domain.DEFAULT_TEMPLATES), applies
quiet hours (夜间免打扰: the message waits until the window ends; urgent kinds — 督办, overdue, sensor alarms, or
payload["urgent"] — do not wait), writes an in-app inbox item for every recipient user and one outbox row per
(event_key, channel, recipient). The same event_key published twice adds nothing the second time. The delivery
worker (worker.py) sends the outbox rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone, tzinfo
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Table, or_, select
from sqlalchemy.orm import Session

from cityloop.db import Base
from cityloop.notify import domain
from cityloop.notify.models import InboxItem, OutboxMessage, Subscription, Template
from cityloop.org.models import User, UserRole

TZ = ZoneInfo("Asia/Shanghai")


@dataclass
class Recipients:
    """Who an event is for: users, every active user of departments (optionally only some roles), and direct
    addresses "channel:address" (e.g. "sms:13800000000", "wecom:https://…") that need no subscription."""

    users: list[int] = field(default_factory=list)
    departments: list[int] = field(default_factory=list)
    roles: list[str] | None = None
    addresses: list[str] = field(default_factory=list)


def _insert(session: Session, model: type[Base], rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    table = cast(Table, model.__table__)
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        session.execute(pg_insert(table).on_conflict_do_nothing(index_elements=["dedupe_key"]), rows)
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        session.execute(sqlite_insert(table).on_conflict_do_nothing(index_elements=["dedupe_key"]), rows)


def templates_for(session: Session, kind: str) -> dict[str, tuple[str, str, str | None]]:
    """channel → (title, body, provider code) for one kind; "*" holds the built-in default."""
    title, body = domain.DEFAULT_TEMPLATES[kind]
    out: dict[str, tuple[str, str, str | None]] = {"*": (title, body, None)}
    for t in session.scalars(select(Template).where(Template.event_kind == kind)):
        out[t.channel] = (t.title, t.body, t.provider_code)
    return out


@dataclass
class _User:
    id: int
    phone: str | None
    department_id: int | None
    roles: set[str]


def _users(session: Session, r: Recipients) -> list[_User]:
    conds: list[ColumnElement[bool]] = []
    if r.users:
        conds.append(User.id.in_(r.users))
    if r.departments:
        dept: ColumnElement[bool] = User.department_id.in_(r.departments)
        if r.roles:
            dept = dept & User.id.in_(select(UserRole.user_id).where(UserRole.role.in_(r.roles)))
        conds.append(dept)
    if not conds:
        return []
    users = {row.id: _User(row.id, row.phone, row.department_id, set()) for row in session.execute(
        select(User.id, User.phone, User.department_id).where(User.active.is_(True), or_(*conds)).order_by(User.id))}
    if users:
        for user_id, role in session.execute(select(UserRole.user_id, UserRole.role)
                                             .where(UserRole.user_id.in_(list(users)))):
            users[user_id].roles.add(role)
    return list(users.values())


def _subscriptions(session: Session, kind: str) -> list[Subscription]:
    return list(session.scalars(select(Subscription).where(Subscription.active.is_(True),
                                                           Subscription.event_kind.in_((kind, "*")))))


def publish(session: Session, event_kind: str, payload: dict[str, Any], recipients: Recipients, event_key: str,
            link: str | None = None, now: datetime | None = None, tz: tzinfo = TZ) -> int:
    """Add the inbox items and outbox rows of one event to the session (no commit); returns outbox rows added
    (0 for an event_key already published)."""
    if event_kind not in domain.KINDS:
        raise ValueError(f"unknown event kind {event_kind!r}")
    now = now or datetime.now(timezone.utc)
    params = {k: payload.get(k) for k in domain.KINDS[event_kind][2]}
    urgent = domain.KINDS[event_kind][3] or bool(payload.get("urgent"))
    rendered = {ch: (domain.render(t, params)[:200], domain.render(b, params), code)
                for ch, (t, b, code) in templates_for(session, event_kind).items()}
    users = _users(session, recipients)
    subs = _subscriptions(session, event_kind)
    inbox: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    texts = {k: "" if v is None else str(v) for k, v in params.items()}

    def add(channel: str, recipient: str, address: str | None, user_id: int | None = None,
            sub: Subscription | None = None) -> None:
        key = domain.dedupe_key(event_key, channel, recipient)
        if key in seen:
            return
        seen.add(key)
        title, body, code = rendered.get(channel) or rendered["*"]
        wait = None if urgent or sub is None else domain.quiet_until(now, sub.quiet_start, sub.quiet_end, tz)
        rows.append(dict(dedupe_key=key, event_kind=event_kind, channel=channel, user_id=user_id,
                         address=address or "", secret=sub.secret if sub is not None else None,
                         title=title, body=body, params=texts, provider_code=code,
                         urgent=urgent, status="pending" if address else "parked", attempts=0,
                         not_before=wait or now, created_at=now,
                         last_error=None if address else "收件人没有该渠道的地址 / recipient has no address"))

    for user in users:
        title, body, _ = rendered.get("inbox") or rendered["*"]
        inbox.append(dict(dedupe_key=domain.dedupe_key(event_key, "inbox", f"u{user.id}"), user_id=user.id,
                          event_kind=event_kind, title=title, body=body, link=link, created_at=now, read_at=None))
        roles = user.roles
        for sub in subs:
            mine = sub.user_id == user.id or (
                sub.user_id is None and sub.role is not None and sub.role in roles
                and sub.department_id in (None, user.department_id))
            if mine and sub.channel not in ("inbox", *domain.ROBOTS):
                address = sub.address or (user.phone if sub.channel == "sms" else None)
                add(sub.channel, f"u{user.id}", address, user.id, sub)
    for sub in subs:
        if (sub.channel in domain.ROBOTS and sub.user_id is None and sub.role is None and sub.address
                and (sub.department_id is None or sub.department_id in recipients.departments)):
            add(sub.channel, f"robot{sub.id}", sub.address, None, sub)
    for target in recipients.addresses:
        channel, _, address = target.partition(":")
        if channel in domain.CHANNELS and channel != "inbox" and address:
            add(channel, target, address)
    _insert(session, InboxItem, inbox)
    _insert(session, OutboxMessage, rows)
    return len(rows)
