"""Administration pages (/console/admin): users and roles, routing rules, the working calendar, filing conditions
and grids. They read directly and change things through the JSON API (see web/static/js/app.js, form[data-api])."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.catalog import service as catalog
from cityloop.deps import ClockDep, OptionalActorDep, SessionDep, SettingsDep
from cityloop.org.actor import Actor
from cityloop.geo import queries as geo
from cityloop.org import service as org
from cityloop.org import throttle
from cityloop.org.domain import ROLES
from cityloop.org.models import Department
from cityloop.routing.models import RoutingRule
from cityloop.routing.router import rule_out
from cityloop.shared.errors import Forbidden
from cityloop.sla import service as sla
from cityloop.web import pages
from cityloop.web.menu import menu_for

router = APIRouter(prefix="/console/admin", include_in_schema=False)
TABS = [("users", "用户与角色", "Users and roles", ("admin",)),
        ("routing", "路由规则", "Routing rules", ("admin", "dispatcher")),
        ("calendar", "工作日历", "Working calendar", ("admin",)),
        ("catalog", "立案条件与时限", "Filing conditions", ("admin",)),
        ("grids", "网格", "Grids", ("admin",))]


def _gate(request: Request, actor: Actor | None, tab: str) -> Actor | Response:
    """The actor when they may open the tab, else the response to send (login or 403 page)."""
    if actor is None:
        return pages.login_redirect(request)
    roles = next(r for name, *_, r in TABS if name == tab)
    if not actor.has(*roles):
        return pages.refuse(request, actor, Forbidden("admin-only", "需要管理员权限", "Administrators only"))
    return actor


def _render(request: Request, actor: Actor, tab: str, **context: Any) -> Response:
    tabs = [(name, zh, en) for name, zh, en, roles in TABS if actor.has(*roles)]
    return pages.render(request, f"org/admin/{tab}.html", menu=menu_for(actor), tabs=tabs, tab=tab, **context)


@router.get("")
def admin_home(request: Request, actor: OptionalActorDep) -> Response:
    """The first tab this user may open."""
    if actor is None:
        return pages.login_redirect(request)
    first = next((name for name, *_, roles in TABS if actor.has(*roles)), None)
    return RedirectResponse(f"/console/admin/{first}" if first else "/console", status_code=303)


@router.get("/users")
def users(request: Request, session: SessionDep, actor: OptionalActorDep, clock: ClockDep,
          q: str | None = Query(None, max_length=64)) -> Response:
    """用户与角色."""
    if isinstance(gate := _gate(request, actor, "users"), Response):
        return gate
    actor = gate
    locked = throttle.locked_names(session, clock.now())
    rows = [org.user_out(u, locked) for u in org.list_users(session, q=q)]
    return _render(request, actor, "users", users=rows, roles=ROLES, q=q or "", departments=_departments(session))


@router.get("/routing")
def routing(request: Request, session: SessionDep, actor: OptionalActorDep) -> Response:
    """路由规则."""
    if isinstance(gate := _gate(request, actor, "routing"), Response):
        return gate
    actor = gate
    rules = [rule_out(session, r) for r in session.scalars(
        select(RoutingRule).where(RoutingRule.active.is_(True)).order_by(RoutingRule.area_level, RoutingRule.id))]
    return _render(request, actor, "routing", rules=rules, departments=_departments(session))


@router.get("/calendar")
def calendar_page(request: Request, session: SessionDep, actor: OptionalActorDep, settings: SettingsDep) -> Response:
    """工作日历."""
    if isinstance(gate := _gate(request, actor, "calendar"), Response):
        return gate
    return _render(request, gate, "calendar", overrides=sla.overrides(session), periods=settings.work_periods)


@router.get("/catalog")
def catalog_page(request: Request, session: SessionDep, actor: OptionalActorDep, settings: SettingsDep,
                 major: str | None = Query(None, pattern=r"^[0-9A-Za-z]{1,4}$"),
                 q: str | None = Query(None, max_length=50)) -> Response:
    """立案条件与时限."""
    if isinstance(gate := _gate(request, actor, "catalog"), Response):
        return gate
    actor = gate
    standard = settings.catalog_standard
    matters = catalog.list_categories(session, standard, "matter", major or ("06" if not q else None), q)
    majors = sorted({(c.major_code, c.major_name) for c in catalog.list_categories(session, standard, "matter")})
    return _render(request, actor, "catalog", matters=matters, majors=majors, major=major or "", q=q or "",
                   standard=standard)


@router.get("/grids")
def grids_page(request: Request, session: SessionDep, actor: OptionalActorDep) -> Response:
    """网格 on a map, duty grids and their inspectors."""
    if isinstance(gate := _gate(request, actor, "grids"), Response):
        return gate
    return _render(request, gate, "grids", duty_grids=geo.duty_grids(session, None))


def _departments(session: Session) -> list[Department]:
    return list(session.scalars(select(Department).where(Department.active.is_(True)).order_by(Department.code)))
