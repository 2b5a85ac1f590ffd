"""Staff console pages of public services: service points, QR placements and sheets, 便民服务 records, 追呼."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy import select

from cityloop.cases.api import Case, openable
from cityloop.deps import ClockDep, OptionalActorDep, SessionDep, SettingsDep
from cityloop.org.actor import Actor
from cityloop.public import campaigns as campaign_service
from cityloop.public import convenience, domain, placements, queries
from cityloop.http.params import PathId as Id
from cityloop.public.schemas import NO_NUL, SERVICE_KINDS
from cityloop.shared.errors import AppError
from cityloop.web import pages
from cityloop.web.menu import menu_for

router = APIRouter(prefix="/console/public", include_in_schema=False)
STAFF = ("operator", "shift_lead", "dispatcher", "leader", "inspector")
TABS = (("", "服务点位", "Service points"), ("/placements", "服务指南二维码", "QR guide"),
        ("/convenience", "便民服务", "Convenience services"), ("/campaigns", "追呼整治", "Call tracking"))


def _page(request: Request, actor: Actor | None, template: str, tab: str, **context: Any) -> Response:
    if actor is None:
        return pages.login_redirect(request)
    if not actor.has(*STAFF, "admin"):
        return pages.refuse(request, actor, AppError("forbidden", "仅限工作人员", "Staff only"))
    return pages.render(request, template, menu=menu_for(actor), tabs=TABS, tab=tab, kinds=domain.KINDS,
                        can_edit=actor.has("operator", "shift_lead", "dispatcher", "admin"), **context)


@router.get("")
def points_page(request: Request, session: SessionDep, actor: OptionalActorDep,
                kind: str | None = Query(None, max_length=16, pattern=NO_NUL)) -> Response:
    """服务点位: list, add, import."""
    rows = queries.service_points(session, kind or None, None, 2000, 0) if actor else []
    return _page(request, actor, "public/console_points.html", "", points=rows, kind=kind or "",
                 states=domain.STATES)


@router.get("/placements")
def placements_page(request: Request, settings: SettingsDep, session: SessionDep, actor: OptionalActorDep,
                    batch: str | None = Query(None, max_length=40, pattern=NO_NUL)) -> Response:
    """服务指南二维码: batches, generation, sheets, most scanned codes."""
    if actor is None:
        return pages.login_redirect(request)
    top = queries.placements(session, batch or None, 50, 0)
    return _page(request, actor, "public/console_placements.html", "/placements", batches=queries.batches(session),
                 top=top, batch=batch or "", base_url=placements.base_url(settings))


@router.get("/convenience")
def convenience_page(request: Request, settings: SettingsDep, clock: ClockDep, session: SessionDep,
                     actor: OptionalActorDep, month: str | None = Query(None, pattern=r"^\d{4}-\d{2}$")) -> Response:
    """便民服务: this month's figures, the record form, recent records."""
    if actor is None:
        return pages.login_redirect(request)
    tz = ZoneInfo(settings.timezone)
    month = month or clock.now().astimezone(tz).strftime("%Y-%m")
    return _page(request, actor, "public/console_convenience.html", "/convenience", month=month,
                 stats=convenience.month_stats(session, month, tz),
                 records=convenience.listing(session, None, month, tz, 200, 0), service_kinds=SERVICE_KINDS,
                 can_record=actor.has("inspector", "operator", "shift_lead", "admin"))


@router.get("/campaigns")
def campaigns_page(request: Request, session: SessionDep, actor: OptionalActorDep,
                   status: str | None = Query(None, max_length=12, pattern=NO_NUL)) -> Response:
    """追呼整治: statistics, running and ended campaigns, the stop list, the start form."""
    if actor is None:
        return pages.login_redirect(request)
    rows = queries.campaigns(session, status or None, None, 300, 0)
    numbers = dict(session.execute(select(Case.id, Case.number).where(Case.id.in_({c.case_id for c in rows}))).all())
    return _page(request, actor, "public/console_campaigns.html", "/campaigns", campaigns=rows, numbers=numbers,
                 openable=openable(session, actor, numbers),
                 stats=queries.campaign_stats(session), stop_list=queries.stop_list(session), status_filter=status or "",
                 reasons=domain.STOP_REASONS, can_call=actor.has("operator", "shift_lead", "dispatcher", "admin"),
                 can_list=actor.has("shift_lead", "dispatcher", "admin"))


@router.get("/campaigns/{campaign_id}")
def campaign_page(campaign_id: Id, request: Request, session: SessionDep, actor: OptionalActorDep) -> Response:
    """One campaign with every call."""
    if actor is None:
        return pages.login_redirect(request)
    try:
        campaign = campaign_service.get(session, campaign_id)
    except AppError as error:
        return pages.render(request, "error.html", status=404, menu=menu_for(actor), error=error)
    case_number = session.scalar(select(Case.number).where(Case.id == campaign.case_id))
    return _page(request, actor, "public/console_campaign.html", "/campaigns", c=campaign, case_number=case_number,
                 may_open=bool(openable(session, actor, [campaign.case_id])),
                 attempts=queries.attempts(session, campaign_id), reasons=domain.STOP_REASONS, results=domain.RESULTS,
                 can_call=actor.has("operator", "shift_lead", "dispatcher", "admin"))
