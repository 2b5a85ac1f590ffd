"""Pages: a user's notifications (/console/notifications) and the admins' notification console (/console/notify:
delivery log with filters, parked messages, subscriptions, templates)."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy import select

from cityloop.deps import OptionalActorDep, SessionDep
from cityloop.notify import admin, domain
from cityloop.notify.models import Subscription
from cityloop.org.models import Department, User
from cityloop.shared.errors import Forbidden
from cityloop.web import pages
from cityloop.web.menu import menu_for

pages_router = APIRouter(include_in_schema=False)


@pages_router.get("/console/notifications")
def my_notifications(request: Request, session: SessionDep, actor: OptionalActorDep) -> Response:
    """我的消息: the user's in-app notifications."""
    if actor is None or actor.id is None:
        return pages.login_redirect(request)
    return pages.render(request, "notify/inbox.html", menu=menu_for(actor),
                        items=admin.inbox(session, actor.id, limit=200), kinds=domain.KINDS)


@pages_router.get("/console/notify")
def notify_console(request: Request, session: SessionDep, actor: OptionalActorDep,
                   status: str | None = Query(None, pattern="^(sent|failed|parked|deferred)$"),
                   channel: str | None = Query(None, pattern="^(sms|wecom|dingtalk|email|webhook)$"),
                   kind: str | None = Query(None, pattern=r"^[a-z_]{1,32}$")) -> Response:
    """消息通知管理: delivery log, parked messages, subscriptions and templates (admins)."""
    if actor is None:
        return pages.login_redirect(request)
    if not actor.has("admin"):
        return pages.refuse(request, actor, Forbidden("role-required", "仅限系统管理员", "Administrators only"))
    subs = list(session.scalars(select(Subscription).order_by(Subscription.id)))
    users = {u.id: u.display_name for u in session.scalars(select(User).where(User.id.in_(
        [s.user_id for s in subs if s.user_id])))}
    depts = {d.id: d.name for d in session.scalars(select(Department))}
    return pages.render(request, "notify/console.html", menu=menu_for(actor),
                        deliveries=admin.deliveries(session, status, channel, kind, 200),
                        parked=admin.outbox(session, "parked", 100), subs=subs, users=users, depts=depts,
                        templates=admin.templates(session), kinds=domain.KINDS, channels=domain.CHANNELS,
                        status_filter=status or "", channel_filter=channel or "", kind_filter=kind or "")
