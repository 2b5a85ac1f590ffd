"""The operators' 12345 page: parked 工单 (fix and accept, or 退单) and recent ones with their messages."""

from __future__ import annotations


from fastapi import APIRouter, Request
from fastapi.responses import Response

from cityloop.deps import OptionalActorDep
from cityloop.web import pages
from cityloop.web.menu import menu_for

router = APIRouter(include_in_schema=False)


@router.get("/console/workorders")
def workorders_page(request: Request, actor: OptionalActorDep) -> Response:
    """12345 工单: the parked queue and the recent ones."""
    if actor is None:
        return pages.login_redirect(request)
    if not actor.has("operator", "shift_lead", "dispatcher", "leader", "admin"):
        return pages.render(request, "channels/forbidden.html", status=403, menu=menu_for(actor))
    return pages.render(request, "workorders/workorders.html", menu=menu_for(actor),
                        can_act=actor.has("operator", "admin"))
