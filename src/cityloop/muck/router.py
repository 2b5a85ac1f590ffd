"""Muck-truck street work endpoints: 沿街抛撒 matches and 上路抽查 roadside checks."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query

from cityloop.deps import ActorDep, ClockDep, SessionDep, SettingsDep, require_roles
from cityloop.org.actor import Actor
from cityloop.muck import domain, service
from cityloop.muck.pages import extra_routers  # noqa: F401 - mounted by the app with this module
from cityloop.muck.schemas import SpillIn, SpillOut, SpotCheckIn, SpotCheckOut

router = APIRouter(prefix="/api/v1/muck", tags=["muck 渣土车抛撒与抽查"])
CHECKERS = ("inspector", "department", "shift_lead", "leader")
ROW = Query(None, ge=1, le=2**31 - 1)


@router.post("/spills", response_model=SpillOut)
def match_spill(body: SpillIn, session: SessionDep, settings: SettingsDep, clock: ClockDep,
                _: Annotated[Actor, Depends(require_roles("operator", "dispatcher", *CHECKERS))]) -> SpillOut:
    """沿街抛撒关联 / Link a 道路遗撒 case to the muck truck that passed nearest within the radius and window."""
    return service.match_case(session, settings, body.case_id, body.at, clock.now())


@router.get("/check-items", response_model=None)
def check_items() -> list[dict[str, str]]:
    """抽查项目 / The items of a roadside check."""
    return [{"key": k, "name": zh, "name_en": en} for k, (zh, en) in domain.CHECK_ITEMS.items()]


@router.post("/spot-checks", response_model=SpotCheckOut, status_code=201)
def add_check(body: SpotCheckIn, session: SessionDep, settings: SettingsDep, clock: ClockDep,
              actor: Annotated[Actor, Depends(require_roles(*CHECKERS))]) -> SpotCheckOut:
    """上路抽查登记 / Record a roadside check; a failed one becomes a violation of the truck's company."""
    return service.record_check(session, settings, body, actor, clock.now())


@router.get("/spot-checks", response_model=list[SpotCheckOut])
def list_checks(session: SessionDep, actor: ActorDep, company_id: int | None = ROW, vehicle_id: int | None = ROW,
                result: Literal["合格", "不合格"] | None = None) -> list[SpotCheckOut]:
    """抽查记录 / Checks, newest first (a company sees its own)."""
    return service.checks(session, actor, company_id, vehicle_id, result)


@router.get("/companies", response_model=None)
def company_records(session: SessionDep, actor: ActorDep) -> list[dict[str, Any]]:
    """企业记录 / Per company: roadside checks (total, failed) and 沿街抛撒 violations."""
    return service.company_records(session, actor)
