"""Fleet pages: the company portal (二级平台, role company), the staff console (permits and appeals to decide,
the live map, track playback) and the public list of approved permits (信息公开, no login)."""

from __future__ import annotations


from fastapi import APIRouter, Request
from fastapi.responses import Response

from cityloop.deps import ClockDep, OptionalActorDep, SessionDep, SettingsDep
from cityloop.fleet import access, queries
from cityloop.fleet.service import today
from cityloop.fleet.models import Company
from cityloop.web import pages
from cityloop.web.menu import menu_for

router = APIRouter(include_in_schema=False)
extra_routers = [router]


@router.get("/portal")
def portal(request: Request, actor: OptionalActorDep, session: SessionDep, settings: SettingsDep,
           clock: ClockDep) -> Response:
    """企业门户 / The company portal: vehicles, permits (apply), violations (appeal)."""
    if actor is None:
        return pages.login_redirect(request)
    company_id = access.company_of(session, actor)
    company = session.get(Company, company_id) if company_id else None
    if company is None:
        return pages.render(request, "fleet/notice.html", status=403, menu=menu_for(actor),
                            zh="当前账号未关联运输企业。", en="This account is not linked to a transport company.")
    score, blacklisted = queries.company_score(session, settings, company.id, clock.now())
    return pages.render(request, "fleet/portal.html", menu=menu_for(actor), company=company, score=score,
                        blacklisted=blacklisted, appeal_days=settings.fleet_appeal_days,
                        today=today(settings, clock.now()))


@router.get("/console/fleet")
def console(request: Request, actor: OptionalActorDep, session: SessionDep, settings: SettingsDep,
            clock: ClockDep) -> Response:
    """渣土车监管 / Staff console: permits and appeals to decide, the live map, track playback."""
    if actor is None:
        return pages.login_redirect(request)
    if not actor.has(*access.STAFF):
        return pages.render(request, "fleet/notice.html", status=403, menu=menu_for(actor),
                            zh="仅限工作人员。", en="Staff only.")
    reviewer = access.is_reviewer(session, settings, actor)
    return pages.render(request, "fleet/console.html", menu=menu_for(actor), reviewer=reviewer,
                        now=int(clock.now().timestamp()))


@router.get("/public/permits")
def public_permits(request: Request, session: SessionDep, settings: SettingsDep, clock: ClockDep) -> Response:
    """核准信息公开 / Approved transport permits, for everyone."""
    now = clock.now()
    items = queries.permits(session, settings, now, public=True)
    return pages.render(request, "fleet/public_permits.html", permits=items)
