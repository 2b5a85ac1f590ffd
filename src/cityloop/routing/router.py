"""Routing rules: list and add (确权 results can also be saved from a dispatch)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.catalog.models import Category
from cityloop.deps import ClockDep, SessionDep, SettingsDep, require_roles
from cityloop.org.actor import Actor
from cityloop.org.models import Department
from cityloop.routing import service
from cityloop.routing.models import RoutingRule
from cityloop.routing.schemas import RuleIn, RuleOut
from cityloop.shared.ids import MAX_ID

router = APIRouter(prefix="/api/v1/routing", tags=["routing 路由与确权"])


def rule_out(session: Session, rule: RoutingRule) -> RuleOut:
    """A rule as the API shows it (codes, not ids)."""
    cat = session.get(Category, rule.category_id) if rule.category_id else None
    return RuleOut(id=rule.id, category_code=cat.code if cat else None, area_level=rule.area_level,
                   area_code=rule.area_code, department_code=session.get_one(Department, rule.department_id).code,
                   note=rule.note, source_case_id=rule.source_case_id)


@router.get("/rules", response_model=list[RuleOut])
def list_rules(session: SessionDep, _: Annotated[Actor, Depends(require_roles("dispatcher", "shift_lead", "leader"))],
               area_code: str | None = Query(None, max_length=15)) -> list[RuleOut]:
    """路由规则 / Active routing rules, optionally for one area."""
    stmt = select(RoutingRule).where(RoutingRule.active.is_(True)).order_by(RoutingRule.id)
    if area_code:
        stmt = stmt.where(RoutingRule.area_code == area_code)
    return [rule_out(session, r) for r in session.scalars(stmt.limit(5000))]


@router.post("/rules", response_model=RuleOut, status_code=201)
def add_rule(body: RuleIn, session: SessionDep, clock: ClockDep, settings: SettingsDep,
             actor: Annotated[Actor, Depends(require_roles("dispatcher"))]) -> RuleOut:
    """新增路由规则 / Add a rule: cases of this category in this area go to this department."""
    rule = service.add_rule(session, actor, body, settings.catalog_standard, clock.now())
    return rule_out(session, rule)


@router.delete("/rules/{rule_id}", status_code=204)
def remove_rule(session: SessionDep, clock: ClockDep, actor: Annotated[Actor, Depends(require_roles("dispatcher"))],
                rule_id: int = Path(..., ge=1, le=MAX_ID)) -> None:
    """停用路由规则 / Retire a rule (kept for the cases it routed)."""
    service.retire_rule(session, actor, rule_id, clock.now())
