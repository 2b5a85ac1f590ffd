"""Pages: the public warnings page (no login) and the staff console's monitoring page (devices, alarms, ack)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from cityloop.deps import ClockDep, OptionalActorDep, SessionDep, StateDep
from cityloop.shared.errors import Forbidden
from cityloop.sensors import domain, queries
from cityloop.sensors.service import live_values
from cityloop.web import pages
from cityloop.web.menu import menu_for

pages_router = APIRouter(include_in_schema=False)


@pages_router.get("/public/warnings")
def public_warnings(request: Request, session: SessionDep, clock: ClockDep) -> Response:
    """积水预警: where the road is closed or to be passed with caution, for everyone."""
    now = clock.now()
    english = pages.lang(request) == "en"
    return pages.render(request, "sensors/public_warnings.html", now=now,
                        items=queries.warnings(session, now, 6, english))


@pages_router.get("/console/sensors")
def console(request: Request, session: SessionDep, actor: OptionalActorDep, state: StateDep,
            type: str | None = None, status: str | None = None) -> Response:
    """运行监测: devices on a map and in a list with their state, open alarms to acknowledge."""
    if actor is None:
        return pages.login_redirect(request)
    if not actor.has(*domain.STAFF, "admin"):  # the API behind it refuses them too
        return pages.refuse(request, actor, Forbidden("role-required", "仅限工作人员", "Staff only"))
    english = pages.lang(request) == "en"
    now = state.clock.now()
    devices = queries.devices(session, now, type or None, status or None, english=english,
                              live=live_values(state))
    return pages.render(request, "sensors/console.html", menu=menu_for(actor), devices=devices,
                        alarms=queries.alarms(session, "active", limit=500, english=english, actor=actor),
                        summary=queries.summary(session), types=domain.DEVICE_TYPES, levels=domain.LEVELS,
                        status_names=queries.STATUS_NAMES,
                        type_filter=type or "", status_filter=status or "",
                        can_ack=actor.has(*domain.ACK_ROLES, "admin"))
