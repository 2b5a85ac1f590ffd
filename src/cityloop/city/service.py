"""City-mode use cases: level rules, the district centers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityloop.audit import service as audit
from cityloop.cases.api import TERMINAL, Case
from cityloop.city.domain import LEVELS
from cityloop.city.models import LevelRule
from cityloop.city.schemas import DistrictCenterOut, LevelRuleIn, LevelRuleOut
from cityloop.geo.models import Region
from cityloop.org.actor import Actor
from cityloop.org.models import User
from cityloop.shared.errors import NotFound


def rule_out(rule: LevelRule) -> LevelRuleOut:
    return LevelRuleOut(id=rule.id, category_code=rule.category_code, area_code=rule.area_code, level=rule.level,
                        level_name=LEVELS[rule.level][0], note=rule.note)


def list_rules(session: Session) -> list[LevelRuleOut]:
    """Every level rule, oldest first."""
    return [rule_out(r) for r in session.scalars(select(LevelRule).order_by(LevelRule.id).limit(5000))]


def add_rule(session: Session, actor: Actor, body: LevelRuleIn, now: datetime) -> LevelRuleOut:
    """Add a level rule (applies to cases reported from now on) and commit."""
    rule = LevelRule(category_code=body.category_code, area_code=body.area_code, level=body.level, note=body.note,
                     created_at=now)
    session.add(rule)
    session.flush()
    audit.record(session, actor, "city.level_rule.add", str(rule.id), body.model_dump(), now)
    session.commit()
    return rule_out(rule)


def remove_rule(session: Session, actor: Actor, rule_id: int, now: datetime) -> None:
    """Delete a level rule and commit (cases keep the level they were given)."""
    rule = session.get(LevelRule, rule_id)
    if rule is None:
        raise NotFound("level-rule-not-found", "层级规则不存在", "No such level rule")
    audit.record(session, actor, "city.level_rule.remove", str(rule_id),
                 {"category_code": rule.category_code, "area_code": rule.area_code, "level": rule.level}, now)
    session.delete(rule)
    session.commit()


def district_centers(session: Session) -> list[DistrictCenterOut]:
    """The district centers (districts with staff of their own), their staff and open cases."""
    staff = {code: n for code, n in session.execute(select(User.district_code, func.count(User.id))
                                                    .where(User.district_code.is_not(None), User.active.is_(True))
                                                    .group_by(User.district_code)) if code is not None}
    if not staff:
        return []
    open_cases = dict(session.execute(select(Case.handling_district, func.count(Case.id))
                                      .where(Case.handling_district.in_(staff), Case.stage.notin_(TERMINAL))
                                      .group_by(Case.handling_district)).all())
    names = dict(session.execute(select(Region.code, Region.name).where(Region.code.in_(staff))).all())
    return [DistrictCenterOut(code=code, name=names.get(code, code), staff=n, open_cases=open_cases.get(code, 0))
            for code, n in sorted(staff.items())]
