"""Who may see and change fleet data: staff see everything, company users (role company) see their company,
reviewers (admin, leader, shift lead, or staff of the enforcement department) decide permits and appeals."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from cityloop.config import Settings
from cityloop.org.actor import Actor
from cityloop.fleet.models import CompanyUser, FleetState
from cityloop.org.models import Department
from cityloop.shared.errors import Forbidden

STAFF = ("inspector", "operator", "shift_lead", "dispatcher", "department", "leader", "admin")


def company_of(session: Session, actor: Actor) -> int | None:
    """The company a company user acts for (None for anyone else)."""
    if not actor.has("company") or actor.id is None:
        return None
    return session.scalar(select(CompanyUser.company_id).where(CompanyUser.user_id == actor.id))


def scope(session: Session, actor: Actor) -> int | None:
    """The company whose data the actor may see: None = all (staff); a company user without a company: 403."""
    if actor.has(*STAFF):
        return None
    company = company_of(session, actor)
    if company is None:
        raise Forbidden("no-company", "当前账号未关联运输企业", "This account is not linked to a transport company")
    return company


def is_reviewer(session: Session, settings: Settings, actor: Actor) -> bool:
    """Admins, leaders, shift leads and staff of the enforcement department review permits and appeals."""
    if actor.has("admin", "leader", "shift_lead"):
        return True
    if not actor.has("department") or actor.department_id is None:
        return False
    dept = session.scalar(select(Department.id).where(Department.code == settings.fleet_department_code))
    return dept == actor.department_id


def require_reviewer(session: Session, settings: Settings, actor: Actor) -> None:
    """403 unless the actor reviews fleet matters."""
    if not is_reviewer(session, settings, actor):
        raise Forbidden("fleet-reviewer-required", "需要渣土车监管审核权限（执法部门、值班长、领导或管理员）",
                        "Requires the fleet reviewer role (enforcement department, shift lead, leader or admin)")


def bump_version(session: Session) -> None:
    """Tell every rule engine and gateway that vehicles, sites, zones or permits changed."""
    bumped = cast(CursorResult[Any], session.execute(update(FleetState).where(FleetState.id == 1)
                                                     .values(version=FleetState.version + 1)))
    if bumped.rowcount == 0:
        session.add(FleetState(id=1, version=1))


def version(session: Session) -> int:
    """The current fleet version."""
    return session.scalar(select(FleetState.version).where(FleetState.id == 1)) or 0
