"""Campaign pages: the list with each campaign's overall progress, one campaign's progress per grid, and an
inspector's tasks."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from cityloop.campaigns import service
from cityloop.deps import ClockDep, OptionalActorDep, SessionDep
from cityloop.org.actor import Actor
from cityloop.web import pages
from cityloop.web.menu import menu_for

router = APIRouter(include_in_schema=False)
extra_routers = [router]


def _denied(request: Request, actor: Actor) -> Response:
    return pages.render(request, "campaigns/notice.html", status=403, menu=menu_for(actor),
                        zh="无权查看专项普查。", en="You may not view campaigns.")


@router.get("/console/campaigns")
def campaigns(request: Request, actor: OptionalActorDep, session: SessionDep, clock: ClockDep) -> Response:
    """专项普查 / Campaigns with their overall progress; an inspector's own tasks first."""
    if actor is None:
        return pages.login_redirect(request)
    if not actor.has(*service.VIEWERS):
        return _denied(request, actor)
    now = clock.now()
    rows = [service.report(session, c.id, now) for c in service.listing(session, now)]
    tasks = service.tasks(session, actor, now) if actor.has("inspector") else []
    return pages.render(request, "campaigns/list.html", menu=menu_for(actor), rows=rows, tasks=tasks)


@router.get("/console/campaigns/{campaign_id}")
def campaign(campaign_id: Annotated[int, Path(ge=1, le=2**31 - 1)], request: Request, actor: OptionalActorDep,
             session: SessionDep, clock: ClockDep) -> Response:
    """One campaign: its matters, grids, inspectors, checklist and progress per duty grid."""
    if actor is None:
        return pages.login_redirect(request)
    if not actor.has(*service.VIEWERS):
        return _denied(request, actor)
    p = service.report(session, campaign_id, clock.now())
    return pages.render(request, "campaigns/detail.html", menu=menu_for(actor), p=p)
