"""Campaign use cases: create, read, tasks for an inspector, check an item, tag a case, progress."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.campaigns import domain
from cityloop.campaigns.models import (
    Campaign, CampaignCase, CampaignCheck, CampaignGrid, CampaignInspector, CampaignItem,
)
from cityloop.campaigns.schemas import CampaignIn, CampaignOut, GridProgressOut, ItemOut, ProgressOut, TaskOut
from cityloop.cases.api import Case
from cityloop.catalog.models import Category
from cityloop.org.actor import Actor
from cityloop.geo.models import DutyGrid, DutyGridInspector
from cityloop.org.models import User
from cityloop.shared.errors import Conflict, Forbidden, Invalid, NotFound

MANAGERS = ("admin", "leader", "shift_lead")
VIEWERS = ("admin", "leader", "shift_lead", "operator", "dispatcher", "inspector")


def _status(c: Campaign, now: datetime) -> Literal["planned", "running", "ended"]:
    return "planned" if now < c.starts_at else "running" if now < c.ends_at else "ended"


def campaign_out(session: Session, c: Campaign, now: datetime) -> CampaignOut:
    """A campaign with its grids, inspectors (usernames) and checklist."""
    grids = sorted(session.scalars(select(CampaignGrid.duty_grid_code).where(CampaignGrid.campaign_id == c.id)))
    users = sorted(session.scalars(select(User.username).join(CampaignInspector, CampaignInspector.user_id == User.id)
                                   .where(CampaignInspector.campaign_id == c.id)))
    items = session.scalars(select(CampaignItem).where(CampaignItem.campaign_id == c.id)
                            .order_by(CampaignItem.position))
    return CampaignOut(id=c.id, name=c.name, theme=c.theme, theme_name=domain.THEMES[c.theme][0],
                       categories=list(c.categories), starts_at=c.starts_at, ends_at=c.ends_at, status=_status(c, now),
                       grids=grids, inspectors=users, checklist=[ItemOut(id=i.id, text=i.text) for i in items],
                       note=c.note)


def _unknown(wanted: list[str], found: set[str]) -> list[str]:
    return sorted(set(wanted) - found)


def create(session: Session, body: CampaignIn, actor: Actor, standard: str, now: datetime) -> CampaignOut:
    """Create a campaign after checking its window, matters, grids and inspectors; commits once."""
    problem = domain.window_problem(body.starts_at, body.ends_at)
    if problem:
        raise Invalid("bad-campaign-window", *problem)
    bad = [c for c in body.categories if not domain.CODE.fullmatch(c)]
    known = set(session.scalars(select(Category.code).where(Category.standard == standard, Category.kind == "matter",
                                                            Category.code.in_([c for c in body.categories
                                                                               if c not in bad]))))
    if missing := bad + _unknown(body.categories, known):
        raise Invalid("unknown-category", f"未知的事项代码：{'、'.join(missing[:10])}",
                      f"unknown matter codes: {', '.join(missing[:10])}")
    grids = set(session.scalars(select(DutyGrid.code).where(DutyGrid.code.in_(body.grids))))
    if missing := _unknown(body.grids, grids):
        raise Invalid("unknown-grid", f"未知的责任网格：{'、'.join(missing[:10])}", f"unknown duty grids: {', '.join(missing[:10])}")
    users = {u.username: u for u in session.scalars(select(User).where(User.username.in_(body.inspectors)))}
    if missing := [u for u in sorted(set(body.inspectors)) if u not in users or "inspector" not in users[u].role_names]:
        raise Invalid("unknown-inspector", f"不是监督员：{'、'.join(missing[:10])}", f"not inspectors: {', '.join(missing[:10])}")
    if len({t.strip() for t in body.checklist}) != len(body.checklist) or any(not t.strip() for t in body.checklist):
        raise Invalid("bad-checklist", "核查项目不能为空或重复", "checklist items must be non-empty and distinct")
    c = Campaign(name=body.name, theme=body.theme, categories=sorted(set(body.categories)), starts_at=body.starts_at,
                 ends_at=body.ends_at, note=body.note, created_by=actor.id, created_at=now)
    session.add(c)
    session.flush()
    session.add_all([CampaignGrid(campaign_id=c.id, duty_grid_code=g) for g in sorted(grids)])
    session.add_all([CampaignInspector(campaign_id=c.id, user_id=users[u].id) for u in sorted(users)])
    session.add_all([CampaignItem(campaign_id=c.id, position=i, text=t.strip()[:200])
                     for i, t in enumerate(body.checklist)])
    session.commit()
    return campaign_out(session, c, now)


def get(session: Session, campaign_id: int) -> Campaign:
    """A campaign, or 404."""
    c = session.get(Campaign, campaign_id)
    if c is None:
        raise NotFound("campaign-not-found", f"专项普查 {campaign_id} 不存在", f"Campaign {campaign_id} not found")
    return c


def listing(session: Session, now: datetime) -> list[CampaignOut]:
    """Every campaign, newest first."""
    return [campaign_out(session, c, now) for c in session.scalars(select(Campaign).order_by(Campaign.starts_at.desc(),
                                                                                              Campaign.id.desc()))]


def _assigned(session: Session, campaign_id: int, user_id: int | None) -> bool:
    return session.get(CampaignInspector, (campaign_id, user_id)) is not None


def tasks(session: Session, actor: Actor, now: datetime) -> list[TaskOut]:
    """The running campaigns the inspector is assigned to, with their grids (those of the campaign the inspector
    patrols, else all of them) and the checklist items not yet verified there."""
    mine = set(session.scalars(select(DutyGridInspector.duty_grid_code).where(DutyGridInspector.user_id == actor.id)))
    out = []
    for c in session.scalars(select(Campaign).join(CampaignInspector, CampaignInspector.campaign_id == Campaign.id)
                             .where(CampaignInspector.user_id == actor.id, Campaign.starts_at <= now,
                                    Campaign.ends_at > now).order_by(Campaign.ends_at)):
        view = campaign_out(session, c, now)
        grids = [g for g in view.grids if g in mine] or view.grids
        done = set(session.execute(select(CampaignCheck.duty_grid_code, CampaignCheck.item_id)
                                   .where(CampaignCheck.campaign_id == c.id)).tuples())
        todo = [{"grid": g, "item_id": i.id, "text": i.text} for g in grids for i in view.checklist
                if (g, i.id) not in done]
        out.append(TaskOut(campaign=view, grids=grids, todo=todo))
    return out


def check(session: Session, campaign_id: int, actor: Actor, item_id: int, grid: str, note: str | None,
          now: datetime) -> ProgressOut:
    """An assigned inspector (or a manager) verifies an item in a grid while the campaign runs; commits once."""
    c = get(session, campaign_id)
    if not (actor.has(*MANAGERS) or _assigned(session, c.id, actor.id)):
        raise Forbidden("campaign-not-assigned", "您未被分派到该专项普查", "You are not assigned to this campaign")
    if _status(c, now) != "running":
        raise Conflict("campaign-not-running", "专项普查不在进行中", "The campaign is not running")
    item = session.get(CampaignItem, item_id)
    if item is None or item.campaign_id != c.id:
        raise Invalid("unknown-item", f"该专项普查没有核查项目 {item_id}", f"The campaign has no checklist item {item_id}")
    if session.get(CampaignGrid, (c.id, grid)) is None:
        raise Invalid("grid-not-assigned", f"责任网格 {grid} 不在该专项普查范围内", f"Duty grid {grid} is not in the campaign")
    row = session.get(CampaignCheck, (item_id, grid))
    if row is None:
        session.add(CampaignCheck(item_id=item_id, duty_grid_code=grid, campaign_id=c.id, done_by=actor.id,
                                  done_at=now, note=note))
    elif note:
        row.note = note
    session.commit()
    return report(session, c.id, now)


def tag(session: Session, campaign_id: int, case_id: int, now: datetime) -> ProgressOut:
    """Tag a case by hand (a report filed under the campaign outside its rule); a second tag changes nothing."""
    c = get(session, campaign_id)
    if session.get(Case, case_id) is None:
        raise Invalid("unknown-case", f"案件 {case_id} 不存在", f"Case {case_id} not found")
    if session.get(CampaignCase, (c.id, case_id)) is None:
        session.add(CampaignCase(campaign_id=c.id, case_id=case_id, tagged_by="manual", tagged_at=now))
        session.commit()
    return report(session, c.id, now)


def report(session: Session, campaign_id: int, now: datetime) -> ProgressOut:
    """Progress per duty grid and overall."""
    c = get(session, campaign_id)
    view = campaign_out(session, c, now)
    done = list(session.execute(select(CampaignCheck.duty_grid_code, CampaignCheck.item_id)
                                .where(CampaignCheck.campaign_id == c.id)).tuples())
    cases = [(g, stage == "closed") for g, stage in session.execute(
        select(Case.duty_grid_code, Case.stage).join(CampaignCase, CampaignCase.case_id == Case.id)
        .where(CampaignCase.campaign_id == c.id))]
    p = domain.progress(view.grids, len(view.checklist), done, cases)

    def out(r: domain.GridProgress) -> GridProgressOut:
        return GridProgressOut(grid=r.grid, items_done=r.items_done, items_total=r.items_total,
                               done_ratio=r.done_ratio, cases_found=r.cases_found, cases_closed=r.cases_closed)

    return ProgressOut(campaign=view, grids=[out(r) for r in p.grids], overall=out(p.overall))


def case_ids(session: Session, campaign_id: int) -> list[int]:
    """The cases a campaign found."""
    return list(session.scalars(select(CampaignCase.case_id).where(CampaignCase.campaign_id == campaign_id)
                                .order_by(CampaignCase.case_id)))
