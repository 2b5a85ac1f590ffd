"""Tag new cases to the running campaigns whose rule claims them (matter, duty grid, window), in the same
transaction as the report."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from cityloop.campaigns import domain
from cityloop.campaigns.models import Campaign, CampaignCase, CampaignGrid
from cityloop.config import Settings
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from cityloop.cases.api import Case


def on_case_events(session: Session, settings: Settings, items: list[tuple[Case, dict[str, Any]]]) -> None:
    """For each reported case, add a campaign_cases row per claiming campaign."""
    reports = [(case, event) for case, event in items if event.get("action") == "report"]
    if not reports:
        return
    at = min(event["at"] for _, event in reports)
    running = list(session.scalars(select(Campaign).where(Campaign.ends_at > at)))
    if not running:
        return
    grids: dict[int, set[str]] = {}
    for cid, grid in session.execute(select(CampaignGrid.campaign_id, CampaignGrid.duty_grid_code)
                                     .where(CampaignGrid.campaign_id.in_([c.id for c in running]))):
        grids.setdefault(cid, set()).add(grid)
    for case, event in reports:
        for c in running:
            if domain.claims(frozenset(c.categories), frozenset(grids.get(c.id, ())),
                             domain.Window(c.starts_at, c.ends_at), case.category_code, case.duty_grid_code,
                             event["at"]):
                session.add(CampaignCase(campaign_id=c.id, case_id=case.id, tagged_by="rule", tagged_at=event["at"]))
