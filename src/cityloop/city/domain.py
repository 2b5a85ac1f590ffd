"""Case levels (pure): is a case the city center's or its district center's, by category × area rules."""

from __future__ import annotations

from dataclasses import dataclass

LEVELS = {"city": ("市级", "City"), "district": ("区县级", "District")}


@dataclass(frozen=True)
class LevelRuleView:
    id: int
    category_code: str | None
    area_code: str | None
    level: str


def matches(rule: LevelRuleView, category_code: str, grid_code: str) -> bool:
    """Whether a rule covers this category and place (its codes are prefixes; null matches anything)."""
    return (not rule.category_code or category_code.startswith(rule.category_code)) and \
        (not rule.area_code or grid_code.startswith(rule.area_code))


def decide_level(rules: list[LevelRuleView], category_code: str, grid_code: str) -> tuple[str, int | None]:
    """The level of a new case and the rule that decided it: the most specific matching rule (longest category
    prefix, then longest area prefix, then the oldest); the city center when no rule matches."""
    found = [r for r in rules if matches(r, category_code, grid_code)]
    if not found:
        return "city", None
    best = min(found, key=lambda r: (-len(r.category_code or ""), -len(r.area_code or ""), r.id))
    return best.level, best.id


def handling_district(level: str, district_code: str) -> str | None:
    """The column value for a level: the case's own district for a district case, None for the city's."""
    return district_code if level == "district" else None


def level_name(handling: str | None, english: bool = False) -> str:
    """市级 / 区县级 for lists."""
    return LEVELS["district" if handling else "city"][1 if english else 0]
