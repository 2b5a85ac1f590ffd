"""The city console's exchange page: each county's link health, its mirrored cases, and 上级交办 down."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import Response

from cityloop.cases.api import STAGES
from cityloop.deps import OptionalActorDep, SessionDep, StateDep
from cityloop.exchange import queries
from cityloop.shared.errors import Forbidden
from cityloop.web import pages
from cityloop.web.menu import menu_for

router = APIRouter(include_in_schema=False)
VIEWERS = ("leader", "shift_lead", "dispatcher", "operator")


@router.get("/console/exchange")
def console(request: Request, session: SessionDep, actor: OptionalActorDep, state: StateDep,
            platform: str | None = None) -> Response:
    """数据交换: linked platforms' health, their cases, assigning a case down; a county sees its uplink."""
    if actor is None:
        return pages.login_redirect(request)
    if not actor.has(*VIEWERS, "admin"):
        return pages.refuse(request, actor, Forbidden("role-required", "仅限工作人员", "Staff only"))
    now = state.clock.now()
    platform = (platform or "")[:32] or None
    due = (now + timedelta(days=3)).astimezone(ZoneInfo(state.settings.timezone)).replace(microsecond=0)
    return pages.render(request, "exchange/console.html", menu=menu_for(actor),
                        links=queries.links(session, state.settings, now),
                        cases=queries.cases(session, platform, None, 200), platform=platform or "",
                        components=queries.records(session, "component.change", platform, 100),
                        alarms=queries.records(session, "alarm.summary", platform, 100),
                        uplink=queries.uplink(session, state.settings, now) if state.settings.exchange_upstream_url
                        else None, stages=STAGES, default_due=due.isoformat(),
                        can_assign=actor.has("leader", "shift_lead", "admin"))
