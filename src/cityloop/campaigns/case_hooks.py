"""Tag new cases to the running campaigns whose rule claims them (matter, duty grid, window), in the same
transaction as the report."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from cityloop.campaigns import domain
from cityloop.campaigns.models import Campaign, CampaignCase, CampaignGrid
from cityloop.config import Settings
from cityloop.db.topic_cache import TopicCache
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from cityloop.cases.api import Case

TOPIC = "campaigns"  # announced after a campaign is created


@dataclass(frozen=True)
class Rule:
    """What tagging needs of a campaign."""

    id: int
    categories: frozenset[str]
    grids: frozenset[str]
    window: domain.Window


@dataclass(frozen=True)
class Unended:
    """The campaigns that had not ended at `since` (later reports need no campaign that ended before)."""

    since: datetime
    rules: tuple[Rule, ...]


_cache: TopicCache[Unended] = TopicCache(TOPIC)


def unended(session: Session, since: datetime) -> Unended:
    """Every campaign ending after `since`, with its grids (two queries; none when nothing runs)."""
    running = list(session.scalars(select(Campaign).where(Campaign.ends_at > since)))
    grids: dict[int, set[str]] = {}
    if running:
        for cid, grid in session.execute(select(CampaignGrid.campaign_id, CampaignGrid.duty_grid_code)
                                         .where(CampaignGrid.campaign_id.in_([c.id for c in running]))):
            grids.setdefault(cid, set()).add(grid)
    return Unended(since, tuple(Rule(c.id, frozenset(c.categories), frozenset(grids.get(c.id, ())),
                                     domain.Window(c.starts_at, c.ends_at)) for c in running))


def rules_at(session: Session, at: datetime) -> tuple[Rule, ...]:
    """The campaigns that may claim a report made at `at` or later (cached per process, see db/topic_cache)."""
    found = _cache.get(session, lambda s: unended(s, at))
    if at < found.since:  # an earlier report than the cached read covers (a back-dated one): read for it
        found = unended(session, at)
    return found.rules


def on_case_events(session: Session, settings: Settings, items: list[tuple[Case, dict[str, Any]]]) -> None:
    """For each reported case, add a campaign_cases row per claiming campaign."""
    reports = [(case, event) for case, event in items if event.get("action") == "report"]
    if not reports:
        return
    running = rules_at(session, min(event["at"] for _, event in reports))
    for case, event in reports:
        for c in running:
            if domain.claims(c.categories, c.grids, c.window, case.category_code, case.duty_grid_code, event["at"]):
                session.add(CampaignCase(campaign_id=c.id, case_id=case.id, tagged_by="rule", tagged_at=event["at"]))
