"""渣土车抽查 page: each company's record (checks, failures, spills) and the latest roadside checks."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from cityloop.deps import OptionalActorDep, SessionDep
from cityloop.fleet import access
from cityloop.muck import domain, service
from cityloop.web import pages
from cityloop.web.menu import menu_for

router = APIRouter(include_in_schema=False)
extra_routers = [router]


@router.get("/console/muck")
def console(request: Request, actor: OptionalActorDep, session: SessionDep) -> Response:
    """渣土车抽查 / Company records and roadside checks (staff)."""
    if actor is None:
        return pages.login_redirect(request)
    if not actor.has(*access.STAFF):
        return pages.render(request, "muck/notice.html", status=403, menu=menu_for(actor),
                            zh="仅限工作人员。", en="Staff only.")
    return pages.render(request, "muck/console.html", menu=menu_for(actor),
                        records=service.company_records(session, actor),
                        checks=service.checks(session, actor, None, None, None, limit=100), items=domain.CHECK_ITEMS)
