"""Routing rules: list and add (确权 results can also be saved from a dispatch)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Query, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.audit import service as audit
from cityloop.catalog.models import Category
from cityloop.deps import get_clock, get_session, require_roles
from cityloop.org.actor import Actor
from cityloop.org.models import Department
from cityloop.routing.models import RoutingRule
from cityloop.routing.schemas import RuleIn, RuleOut
from cityloop.shared.errors import Invalid, NotFound
from cityloop.shared.ids import MAX_ID

router = APIRouter(prefix="/api/v1/routing", tags=["routing 路由与确权"])


def rule_out(session: Session, rule: RoutingRule) -> RuleOut:
    """A rule as the API shows it (codes, not ids)."""
    cat = session.get(Category, rule.category_id) if rule.category_id else None
    return RuleOut(id=rule.id, category_code=cat.code if cat else None, area_level=rule.area_level,
                   area_code=rule.area_code, department_code=session.get(Department, rule.department_id).code,
                   note=rule.note, source_case_id=rule.source_case_id)


@router.get("/rules", response_model=list[RuleOut])
def list_rules(area_code: str | None = Query(None, max_length=15), session: Session = Depends(get_session),
               _: Actor = Depends(require_roles("dispatcher", "shift_lead", "leader"))):
    """路由规则 / Active routing rules, optionally for one area."""
    stmt = select(RoutingRule).where(RoutingRule.active.is_(True)).order_by(RoutingRule.id)
    if area_code:
        stmt = stmt.where(RoutingRule.area_code == area_code)
    return [rule_out(session, r) for r in session.scalars(stmt.limit(5000))]


@router.post("/rules", response_model=RuleOut, status_code=201)
def add_rule(body: RuleIn, request: Request, session: Session = Depends(get_session), clock=Depends(get_clock),
             actor: Actor = Depends(require_roles("dispatcher"))):
    """新增路由规则 / Add a rule: cases of this category in this area go to this department."""
    dept = session.scalar(select(Department).where(Department.code == body.department_code))
    if dept is None:
        raise Invalid("unknown-department", f"未知部门：{body.department_code}", f"Unknown department {body.department_code}")
    cat_id = None
    if body.category_code:
        cat = session.scalar(select(Category).where(Category.code == body.category_code, Category.kind == "matter",
                                                    Category.standard == request.app.state.settings.catalog_standard))
        if cat is None:
            raise Invalid("unknown-category", f"未知事项代码：{body.category_code}", f"Unknown category {body.category_code}")
        cat_id = cat.id
    rule = RoutingRule(category_id=cat_id, area_level=body.area_level, area_code=body.area_code,
                       department_id=dept.id, note=body.note, created_at=clock.now())
    session.add(rule)
    audit.record(session, actor, "routing.add", f"{body.area_level}:{body.area_code}", body.model_dump(), clock.now())
    session.commit()
    return rule_out(session, rule)


@router.delete("/rules/{rule_id}", status_code=204)
def remove_rule(rule_id: int = Path(..., ge=1, le=MAX_ID), session: Session = Depends(get_session),
                clock=Depends(get_clock), actor: Actor = Depends(require_roles("dispatcher"))):
    """停用路由规则 / Retire a rule (kept for the cases it routed)."""
    rule = session.get(RoutingRule, rule_id)
    if rule is None or not rule.active:
        raise NotFound("rule-not-found", "路由规则不存在", "No such routing rule")
    rule.active = False
    audit.record(session, actor, "routing.retire", str(rule_id), {"area": f"{rule.area_level}:{rule.area_code}"},
                 clock.now())
    session.commit()
