"""Managing notifications: templates (validated when saved), subscriptions, the delivery log, a user's inbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.orm import Session

from cityloop.notify import domain
from cityloop.notify.models import Delivery, InboxItem, OutboxMessage, Subscription, Template
from cityloop.notify.schemas import SubscriptionIn, TemplateIn
from cityloop.org.models import Department, User
from cityloop.shared.errors import Invalid, NotFound


def check_template(kind: str, *texts: str) -> None:
    """Invalid (422) for an unknown kind or ${var}, with the allowed variables in the message."""
    try:
        domain.validate_template(kind, *texts)
    except domain.TemplateError as exc:
        raise Invalid("template-variable", exc.zh, exc.en, unknown=exc.unknown,
                      allowed=list(domain.KINDS.get(kind, ("", "", ()))[2])) from exc


def save_template(session: Session, body: TemplateIn, now: datetime) -> Template:
    """Create or replace the template of one kind and channel; nothing changes when it names an unknown variable."""
    if body.event_kind == "*":
        raise Invalid("template-kind", "模板须指定事件类型", "A template needs one event kind")
    check_template(body.event_kind, body.title, body.body)
    row = session.scalar(select(Template).where(Template.event_kind == body.event_kind,
                                                Template.channel == body.channel))
    row = row or Template(event_kind=body.event_kind, channel=body.channel)
    row.title, row.body, row.provider_code, row.updated_at = body.title, body.body, body.provider_code, now
    session.add(row)
    session.commit()
    return row


def templates(session: Session) -> list[dict[str, Any]]:
    """Every saved template and the built-in default of every kind."""
    out: list[dict[str, Any]] = [dict(event_kind=k, channel="inbox", title=t, body=b, builtin=True, variables=list(domain.KINDS[k][2]))
           for k, (t, b) in domain.DEFAULT_TEMPLATES.items()]
    for row in session.scalars(select(Template).order_by(Template.event_kind, Template.channel)):
        out.append(dict(id=row.id, event_kind=row.event_kind, channel=row.channel, title=row.title, body=row.body,
                        provider_code=row.provider_code, variables=list(domain.KINDS[row.event_kind][2])))
    return out


def add_subscription(session: Session, body: SubscriptionIn, now: datetime) -> Subscription:
    """Subscribe a user, a role or a group robot; refuses an incomplete or contradictory subscription."""
    if body.event_kind != "*" and body.event_kind not in domain.KINDS:
        raise Invalid("unknown-kind", f"未知的事件类型：{body.event_kind}", f"Unknown event kind: {body.event_kind}")
    robot = body.channel in domain.ROBOTS
    if robot and (body.user_id or body.role or not (body.address or "").startswith(("http://", "https://"))):
        raise Invalid("robot-address", "群机器人订阅须填写 Webhook 地址（http/https），且不指定用户或角色",
                      "A group-robot subscription needs its webhook URL (http/https) and no user or role")
    if not robot and bool(body.user_id) == bool(body.role):
        raise Invalid("subscriber", "须指定用户或角色之一", "Give either a user or a role")
    if body.channel == "email" and not body.address:
        raise Invalid("email-address", "邮件订阅须填写邮箱地址", "An e-mail subscription needs an address")
    if bool(body.quiet_start) != bool(body.quiet_end):
        raise Invalid("quiet-hours", "免打扰时段须同时填写开始和结束", "Quiet hours need a start and an end")
    if body.user_id and session.get(User, body.user_id) is None:
        raise NotFound("user-not-found", "用户不存在", "No such user")
    dept_id = None
    if body.department_code:
        dept_id = session.scalar(select(Department.id).where(Department.code == body.department_code))
        if dept_id is None:
            raise NotFound("department-not-found", "部门不存在", "No such department")
    row = Subscription(user_id=body.user_id, role=body.role, department_id=dept_id, event_kind=body.event_kind,
                       channel=body.channel, address=body.address, secret=body.secret, quiet_start=body.quiet_start,
                       quiet_end=body.quiet_end, active=True, created_at=now)
    session.add(row)
    session.commit()
    return row


def remove_subscription(session: Session, sub_id: int) -> None:
    """Delete one subscription."""
    row = session.get(Subscription, sub_id)
    if row is None:
        raise NotFound("subscription-not-found", "订阅不存在", "No such subscription")
    session.delete(row)
    session.commit()


def deliveries(session: Session, status: str | None = None, channel: str | None = None, kind: str | None = None,
               limit: int = 100) -> list[dict[str, Any]]:
    """The delivery log, newest first, with each attempt's message."""
    stmt = (select(Delivery, OutboxMessage).join(OutboxMessage, OutboxMessage.id == Delivery.message_id)
            .order_by(Delivery.id.desc()).limit(limit))
    if status:
        stmt = stmt.where(Delivery.status == status)
    if channel:
        stmt = stmt.where(OutboxMessage.channel == channel)
    if kind:
        stmt = stmt.where(OutboxMessage.event_kind == kind)
    return [dict(id=d.id, message_id=m.id, event_kind=m.event_kind, channel=m.channel, address=m.address,
                 title=m.title, attempt=d.attempt, at=d.at, status=d.status, message_status=m.status, error=d.error,
                 response=d.response, duration_ms=d.duration_ms) for d, m in session.execute(stmt)]


def outbox(session: Session, status: str | None = None, limit: int = 100) -> list[OutboxMessage]:
    """Outbox rows, newest first (parked ones carry the reason)."""
    stmt = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    return list(session.scalars(stmt.where(OutboxMessage.status == status) if status else stmt))


def retry(session: Session, message_id: int, now: datetime) -> OutboxMessage:
    """Send a parked message again (after the gateway is fixed)."""
    row = session.get(OutboxMessage, message_id)
    if row is None:
        raise NotFound("message-not-found", "消息不存在", "No such message")
    if row.status != "parked":
        raise Invalid("not-parked", "只有已搁置的消息可以重发", "Only parked messages can be retried")
    row.status, row.attempts, row.not_before = "pending", 0, now
    session.commit()
    return row


def inbox(session: Session, user_id: int, unread_only: bool = False, limit: int = 50) -> list[InboxItem]:
    """A user's in-app messages, newest first."""
    stmt = select(InboxItem).where(InboxItem.user_id == user_id).order_by(InboxItem.id.desc()).limit(limit)
    return list(session.scalars(stmt.where(InboxItem.read_at.is_(None)) if unread_only else stmt))


def unread(session: Session, user_id: int) -> tuple[int, int | None]:
    """(unread count, newest unread id)."""
    row = session.execute(select(func.count(), func.max(InboxItem.id))
                          .where(InboxItem.user_id == user_id, InboxItem.read_at.is_(None))).one()
    return row[0], row[1]


def mark_read(session: Session, user_id: int, ids: list[int], everything: bool, now: datetime) -> int:
    """Mark the user's own items read; returns how many changed."""
    stmt = update(InboxItem).where(InboxItem.user_id == user_id, InboxItem.read_at.is_(None)).values(read_at=now)
    if not everything:
        if not ids:
            return 0
        stmt = stmt.where(InboxItem.id.in_(ids))
    count = cast(CursorResult[Any], session.execute(stmt)).rowcount
    session.commit()
    return count
