"""Ownership (确权) decisions (pure): which department a case belongs to, and why."""

from __future__ import annotations

from dataclasses import dataclass

AREA_LEVELS = ("grid", "community", "street", "district")  # most specific first


@dataclass(frozen=True)
class RuleView:
    id: int
    category_id: int | None
    area_level: str
    area_code: str
    department_id: int


@dataclass(frozen=True)
class Suggestion:
    department_id: int | None
    reason_zh: str
    reason_en: str
    needs_ownership: bool = False
    rule_id: int | None = None


def suggest(rules: list[RuleView], category_id: int, area: dict[str, str], component_owner_id: int | None,
            territorial_id: int | None) -> Suggestion:
    """Component owner first; then the most specific matching rule; else the territorial unit (属地兜底)."""
    if component_owner_id is not None:
        return Suggestion(component_owner_id, "部件权属单位", "owner of the component")
    matches = [r for r in rules if r.category_id in (category_id, None) and area.get(r.area_level) == r.area_code]
    if matches:
        best = min(matches, key=lambda r: (r.category_id is None, AREA_LEVELS.index(r.area_level), r.id))
        level_zh = {"grid": "单元网格", "community": "社区", "street": "街道/乡镇", "district": "区县"}[best.area_level]
        what_zh = "该类别" if best.category_id is not None else "所有类别"
        what_en = "this category" if best.category_id is not None else "any category"
        return Suggestion(best.department_id, f"规则#{best.id}：{what_zh}在{level_zh} {best.area_code}",
                          f"rule #{best.id}: {what_en} in {best.area_level} {best.area_code}", rule_id=best.id)
    if territorial_id is not None:
        return Suggestion(territorial_id, "无匹配规则，属地兜底，待确权", "no rule matched: territorial fallback, ownership to be confirmed",
                          needs_ownership=True)
    return Suggestion(None, "无匹配规则且无属地单位，请人工确权", "no rule and no territorial unit: decide ownership by hand",
                      needs_ownership=True)
