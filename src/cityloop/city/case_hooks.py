"""At intake, level rules decide whether a new case is the city center's or its district center's."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update

from cityloop.cases.api import Case
from cityloop.city.domain import LevelRuleView, decide_level, handling_district
from cityloop.city.models import LevelRule
from cityloop.config import Settings
from cityloop.db.topic_cache import TopicCache
from sqlalchemy.orm import Session

TOPIC = "level_rules"  # announced after a level rule is added or removed
_cache: TopicCache[list[LevelRuleView]] = TopicCache(TOPIC)


def read_rules(session: Session) -> list[LevelRuleView]:
    """Every level rule (a handful per city), from the database."""
    return [LevelRuleView(r.id, r.category_code, r.area_code, r.level)
            for r in session.scalars(select(LevelRule).order_by(LevelRule.id))]


def rules(session: Session) -> list[LevelRuleView]:
    """Every level rule (cached per process, see db/topic_cache)."""
    return _cache.get(session, read_rules)


def on_case_events(session: Session, settings: Settings, items: Sequence[tuple[Case, dict[str, Any]]]) -> None:
    """Set handling_district on cases just reported (intake writes them in bulk, so an UPDATE, not the ORM)."""
    reported = [case for case, event in items if event["action"] == "report" and case.handling_district is None]
    if not reported:
        return
    found = rules(session)
    if not found:  # no rules: a county deployment, every case is the (one) center's
        return
    by_district: dict[str, list[int]] = {}
    for case in reported:
        level, _ = decide_level(found, case.category_code, case.grid_code)
        value = handling_district(level, case.district_code)
        if value is not None:
            case.handling_district = value  # the detached row the report's response is built from
            by_district.setdefault(value, []).append(case.id)
    for value, ids in by_district.items():
        session.execute(update(Case).where(Case.id.in_(ids)).values(handling_district=value)
                        .execution_options(synchronize_session=False))
