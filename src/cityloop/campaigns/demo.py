"""Demo campaigns (专项普查) in the spirit of the seeds' 20+ special collections: greening, lighting and a finished
illegal-ads sweep, over the first duty grids with their inspectors; history cases they would have claimed are tagged."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.campaigns import domain
from cityloop.campaigns.models import Campaign, CampaignCase, CampaignCheck, CampaignGrid, CampaignInspector, CampaignItem
from cityloop.cases.api import Case
from cityloop.config import Settings
from cityloop.geo.models import DutyGrid, DutyGridInspector

CAMPAIGNS = [
    ("绿化管理专项信息采集", "greening", ["04002", "04008", "04011", "04013"], -10, 20,
     ["行道树缺株、倒伏", "绿地护栏破损", "树池树穴裸露", "绿地黄土裸露"]),
    ("城市亮化专项普查", "lighting", ["01037", "01039", "01060"], -3, 11, ["路灯亮灯率", "景观灯完好", "配电箱箱门"]),
    ("“野广告”集中清理", "illegal_ads", ["07001", "07002", "07003"], -40, -20, ["电杆小广告", "墙面喷涂", "散发广告"]),
]


def build(session: Session, settings: Settings, now: datetime) -> None:
    """Add the demo campaigns once (a second build finds them and adds nothing)."""
    if session.scalar(select(Campaign.id).limit(1)) is not None:
        return
    grids = list(session.scalars(select(DutyGrid.code).order_by(DutyGrid.code).limit(4)))
    if not grids:
        return
    inspectors = dict(session.execute(select(DutyGridInspector.user_id, DutyGridInspector.duty_grid_code)
                                      .where(DutyGridInspector.duty_grid_code.in_(grids))).all())
    for n, (name, theme, cats, start_days, end_days, checklist) in enumerate(CAMPAIGNS):
        window = domain.Window(now + timedelta(days=start_days), now + timedelta(days=end_days))
        c = Campaign(name=name, theme=theme, categories=cats, starts_at=window.starts_at, ends_at=window.ends_at,
                     created_at=window.starts_at - timedelta(days=2))
        session.add(c)
        session.flush()
        session.add_all([CampaignGrid(campaign_id=c.id, duty_grid_code=g) for g in grids])
        session.add_all([CampaignInspector(campaign_id=c.id, user_id=u) for u in inspectors])
        items = [CampaignItem(campaign_id=c.id, position=i, text=t) for i, t in enumerate(checklist)]
        session.add_all(items)
        session.flush()
        done = [(i, g) for k, (i, g) in enumerate((i, g) for g in grids for i in items) if k % (n + 2) != 1]
        checker = {g: u for u, g in inspectors.items()}
        session.add_all([CampaignCheck(item_id=i.id, duty_grid_code=g, campaign_id=c.id, done_by=checker.get(g),
                                       done_at=min(now, window.ends_at) - timedelta(hours=k + 1))
                         for k, (i, g) in enumerate(done if window.starts_at < now else [])])
        for case_id, grid, at, code in session.execute(select(Case.id, Case.duty_grid_code, Case.created_at,
                                                              Case.category_code)
                                                       .where(Case.category_code.in_(cats),
                                                              Case.created_at >= window.starts_at)):
            if domain.claims(frozenset(cats), frozenset(grids), window, code, grid, at):
                session.add(CampaignCase(campaign_id=c.id, case_id=case_id, tagged_by="rule", tagged_at=at))
    session.commit()
