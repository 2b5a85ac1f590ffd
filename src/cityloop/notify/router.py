"""Notification endpoints: a user's inbox (list, unread count, mark read) and, for admins, templates,
subscriptions, the outbox and the delivery log."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response

from cityloop.deps import ActorDep, ClockDep, SessionDep, require_roles
from cityloop.org.actor import Actor
from cityloop.notify import admin
from cityloop.notify.pages import pages_router
from cityloop.notify.schemas import (CHANNEL, DeliveryOut, InboxOut, InboxPage, MarkReadIn, OutboxOut,
                                     SubscriptionIn, SubscriptionOut, TemplateIn, TemplateOut, UnreadOut)

router = APIRouter(tags=["notify 消息通知"])
extra_routers = [pages_router]
ADMIN = require_roles("admin")
AdminDep = Annotated[Actor, Depends(ADMIN)]
KIND_Q = Query(None, pattern=r"^[a-z_]{1,32}$")


def _me(actor: Actor) -> int:
    from cityloop.shared.errors import Forbidden

    if actor.id is None:
        raise Forbidden("user-only", "仅限登录用户", "Users only")
    return actor.id


@router.get("/api/v1/notifications", response_model=InboxPage)
def list_notifications(session: SessionDep, actor: ActorDep, unread_only: bool = False,
                       limit: int = Query(50, ge=1, le=200)) -> InboxPage:
    """我的消息 / My in-app notifications, newest first, with the unread count."""
    me = _me(actor)
    items = [InboxOut(id=i.id, event_kind=i.event_kind, title=i.title, body=i.body, link=i.link,
                      created_at=i.created_at, read=i.read_at is not None)
             for i in admin.inbox(session, me, unread_only, limit)]
    return InboxPage(items=items, unread=admin.unread(session, me)[0])


@router.get("/api/v1/notifications/unread", response_model=UnreadOut)
def unread_count(session: SessionDep, actor: ActorDep) -> UnreadOut:
    """未读数 / Unread count (the header badge polls this)."""
    count, newest = admin.unread(session, _me(actor))
    return UnreadOut(unread=count, newest_id=newest)


@router.post("/api/v1/notifications/read", response_model=UnreadOut)
def mark_read(body: MarkReadIn, session: SessionDep, actor: ActorDep, clock: ClockDep) -> UnreadOut:
    """标记已读 / Mark some or all of my notifications read."""
    me = _me(actor)
    admin.mark_read(session, me, body.ids, body.all, clock.now())
    count, newest = admin.unread(session, me)
    return UnreadOut(unread=count, newest_id=newest)


@router.get("/api/v1/notify/templates", response_model=list[TemplateOut])
def list_templates(session: SessionDep, _: AdminDep) -> list[dict[str, Any]]:
    """消息模板 / Saved templates and the built-in defaults."""
    return admin.templates(session)


@router.put("/api/v1/notify/templates", response_model=TemplateOut)
def put_template(body: TemplateIn, session: SessionDep, _: AdminDep, clock: ClockDep) -> TemplateOut:
    """保存模板 / Save a template; an unknown ${variable} is refused (422) and nothing changes."""
    row = admin.save_template(session, body, clock.now())
    return TemplateOut(id=row.id, event_kind=row.event_kind, channel=row.channel, title=row.title, body=row.body,
                       provider_code=row.provider_code)


@router.get("/api/v1/notify/subscriptions", response_model=list[SubscriptionOut])
def list_subscriptions(session: SessionDep, _: AdminDep) -> list[SubscriptionOut]:
    """订阅 / Every subscription."""
    from sqlalchemy import select

    from cityloop.notify.models import Subscription

    return [SubscriptionOut.model_validate(s, from_attributes=True)
            for s in session.scalars(select(Subscription).order_by(Subscription.id))]


@router.post("/api/v1/notify/subscriptions", response_model=SubscriptionOut, status_code=201)
def post_subscription(body: SubscriptionIn, session: SessionDep, _: AdminDep, clock: ClockDep) -> SubscriptionOut:
    """新增订阅 / Subscribe a user, a role, or a department's group robot."""
    row = admin.add_subscription(session, body, clock.now())
    return SubscriptionOut.model_validate(row, from_attributes=True)


@router.delete("/api/v1/notify/subscriptions/{sub_id}", status_code=204)
def delete_subscription(session: SessionDep, _: AdminDep, sub_id: int = Path(ge=1, le=2**31 - 1)) -> Response:
    """删除订阅 / Remove a subscription."""
    admin.remove_subscription(session, sub_id)
    return Response(status_code=204)


@router.get("/api/v1/notify/deliveries", response_model=list[DeliveryOut])
def list_deliveries(session: SessionDep, _: AdminDep,
                    status: str | None = Query(None, pattern="^(sent|failed|parked|deferred)$"),
                    channel: str | None = Query(None, pattern=CHANNEL), kind: str | None = KIND_Q,
                    limit: int = Query(100, ge=1, le=1000)) -> list[dict[str, Any]]:
    """投递日志 / The delivery log: every attempt, newest first."""
    return admin.deliveries(session, status, channel, kind, limit)


@router.get("/api/v1/notify/outbox", response_model=list[OutboxOut])
def list_outbox(session: SessionDep, _: AdminDep,
                status: str | None = Query(None, pattern="^(pending|sending|sent|parked)$"),
                limit: int = Query(100, ge=1, le=1000)) -> list[OutboxOut]:
    """发件箱 / Outbox messages (parked ones with their reason)."""
    return [OutboxOut.model_validate(m, from_attributes=True) for m in admin.outbox(session, status, limit)]


@router.post("/api/v1/notify/outbox/{message_id}/retry", response_model=OutboxOut)
def retry_message(session: SessionDep, _: AdminDep, clock: ClockDep,
                  message_id: int = Path(ge=1, le=2**31 - 1)) -> OutboxOut:
    """重新发送 / Send a parked message again."""
    row = admin.retry(session, message_id, clock.now())
    return OutboxOut.model_validate(row, from_attributes=True)
