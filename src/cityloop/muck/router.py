"""Muck-truck street work endpoints: 沿街抛撒 matches and 上路抽查 roadside checks."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.orm import Session

from cityloop.state import app_state
from cityloop.deps import current_actor, get_session, require_roles
from cityloop.org.actor import Actor
from cityloop.muck import domain, service
from cityloop.muck.pages import extra_routers  # noqa: F401 - mounted by the app with this module
from cityloop.muck.schemas import SpillIn, SpillOut, SpotCheckIn, SpotCheckOut

router = APIRouter(prefix="/api/v1/muck", tags=["muck 渣土车抛撒与抽查"])
CHECKERS = ("inspector", "department", "shift_lead", "leader")
ROW = Query(None, ge=1, le=2**31 - 1)


@router.post("/spills", response_model=SpillOut)
def match_spill(body: SpillIn, request: Request, session: Session = Depends(get_session),
                _: Actor = Depends(require_roles("operator", "dispatcher", *CHECKERS))):
    """沿街抛撒关联 / Link a 道路遗撒 case to the muck truck that passed nearest within the radius and window."""
    return service.match_case(session, app_state(request.app).settings, body.case_id, body.at,
                              app_state(request.app).clock.now())


@router.get("/check-items")
def check_items():
    """抽查项目 / The items of a roadside check."""
    return [{"key": k, "name": zh, "name_en": en} for k, (zh, en) in domain.CHECK_ITEMS.items()]


@router.post("/spot-checks", response_model=SpotCheckOut, status_code=201)
def add_check(body: SpotCheckIn, request: Request, session: Session = Depends(get_session),
              actor: Actor = Depends(require_roles(*CHECKERS))):
    """上路抽查登记 / Record a roadside check; a failed one becomes a violation of the truck's company."""
    return service.record_check(session, app_state(request.app).settings, body, actor, app_state(request.app).clock.now())


@router.get("/spot-checks", response_model=list[SpotCheckOut])
def list_checks(company_id: int | None = ROW, vehicle_id: int | None = ROW,
                result: Literal["合格", "不合格"] | None = None, session: Session = Depends(get_session),
                actor: Actor = Depends(current_actor)):
    """抽查记录 / Checks, newest first (a company sees its own)."""
    return service.checks(session, actor, company_id, vehicle_id, result)


@router.get("/companies")
def company_records(session: Session = Depends(get_session), actor: Actor = Depends(current_actor)):
    """企业记录 / Per company: roadside checks (total, failed) and 沿街抛撒 violations."""
    return service.company_records(session, actor)
