"""Routing use cases: suggest a department for a case, save an ownership decision as a rule."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from cityloop.audit import service as audit
from cityloop.catalog.models import Category, Component
from cityloop.org.models import Department
from cityloop.routing.domain import AREA_LEVELS, RuleView, Suggestion, suggest
from cityloop.org.actor import Actor
from cityloop.routing.models import RoutingRule
from cityloop.routing.schemas import RuleIn
from cityloop.shared.errors import Invalid, NotFound

if TYPE_CHECKING:
    from cityloop.cases.api import Case


def case_area(case: Case) -> dict[str, str]:
    """The area codes of a case by level."""
    return {"grid": case.grid_code, "community": case.community_code, "street": case.street_code,
            "district": case.district_code}


def suggest_for_case(session: Session, case: Case) -> Suggestion:
    """Load the candidate rules, the component owner and the territorial unit, then decide."""
    area = case_area(case)
    rules = session.scalars(
        select(RoutingRule).where(
            RoutingRule.active.is_(True),
            or_(RoutingRule.category_id == case.category_id, RoutingRule.category_id.is_(None)),
            RoutingRule.area_code.in_(list(area.values())),
        )
    )
    views = [RuleView(r.id, r.category_id, r.area_level, r.area_code, r.department_id) for r in rules]
    owner = None
    if case.component_id:
        comp = session.get(Component, case.component_id)
        if comp is not None:
            owner = comp.owner_department_id or comp.maintainer_department_id or comp.competent_department_id
    territorial = session.scalar(
        select(Department.id).where(Department.active.is_(True),
                                    Department.territory_code.in_([case.street_code, case.district_code]))
        .order_by(Department.territory_code.desc())  # the street's unit before the district's
    )
    return suggest(views, case.category_id, area, owner, territorial)


def save_rule(session: Session, case: Case, department_id: int, level: str, now: datetime) -> RoutingRule:
    """Turn an ownership decision on a case into a routing rule for its category and area."""
    if level not in AREA_LEVELS:
        raise Invalid("bad-area-level", f"区域层级应为 {'/'.join(AREA_LEVELS)}", f"area level must be one of {AREA_LEVELS}")
    rule = RoutingRule(category_id=case.category_id, area_level=level, area_code=case_area(case)[level],
                       department_id=department_id, source_case_id=case.id, created_at=now,
                       note=f"由案件 {case.number} 确权生成")
    session.add(rule)
    return rule


def add_rule(session: Session, actor: Actor, body: RuleIn, standard: str, now: datetime) -> RoutingRule:
    """Add a rule: cases of this category (any when none) in this area go to this department."""
    dept = session.scalar(select(Department).where(Department.code == body.department_code))
    if dept is None:
        raise Invalid("unknown-department", f"未知部门：{body.department_code}", f"Unknown department {body.department_code}")
    cat_id = None
    if body.category_code:
        cat_id = session.scalar(select(Category.id).where(Category.code == body.category_code,
                                                          Category.kind == "matter", Category.standard == standard))
        if cat_id is None:
            raise Invalid("unknown-category", f"未知事项代码：{body.category_code}", f"Unknown category {body.category_code}")
    rule = RoutingRule(category_id=cat_id, area_level=body.area_level, area_code=body.area_code,
                       department_id=dept.id, note=body.note, created_at=now)
    session.add(rule)
    audit.record(session, actor, "routing.add", f"{body.area_level}:{body.area_code}", body.model_dump(), now)
    session.commit()
    return rule


def retire_rule(session: Session, actor: Actor, rule_id: int, now: datetime) -> None:
    """Retire a rule (kept for the cases it routed)."""
    rule = session.get(RoutingRule, rule_id)
    if rule is None or not rule.active:
        raise NotFound("rule-not-found", "路由规则不存在", "No such routing rule")
    rule.active = False
    audit.record(session, actor, "routing.retire", str(rule_id), {"area": f"{rule.area_level}:{rule.area_code}"}, now)
    session.commit()
