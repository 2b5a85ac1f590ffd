"""追呼 campaigns: start from a 非法小广告 case, clear, stop, and the stop list — each change audited and noted on
the case. The dialer (dialer.py) makes the calls."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.audit import service as audit
from cityloop.cases import api as cases_api
from cityloop.cases.api import Case
from cityloop.config import Settings
from cityloop.org.actor import Actor
from cityloop.public import domain
from cityloop.public.models import CallAttempt, CallCampaign, CallStop
from cityloop.public.schemas import CampaignIn, ClearIn, StopListIn
from cityloop.shared.errors import Conflict, Invalid, NotFound
from cityloop.sla.domain import WorkCalendar

AD_MATTER = "07001"  # 非法小广告
DEAD_STAGES = ("rejected", "merged", "void")
VERIFIED_STAGES = ("checked", "closed")  # 核查通过: the removal was verified on site


def plan_of(settings: Settings, max_days: int | None = None, max_calls: int | None = None) -> domain.CallPlan:
    """The call plan from the settings, with a campaign's own limits."""
    levels = tuple((int(a), int(b)) for a, b in settings.public_call_levels if int(a) >= 1 and int(b) >= 1)
    return domain.CallPlan(levels=levels or domain.CallPlan().levels,
                           max_days=max_days or settings.public_call_max_days,
                           max_calls=max_calls or settings.public_call_max_calls,
                           min_gap_minutes=settings.public_call_min_gap_minutes)


def stored_plan(campaign: CallCampaign) -> domain.CallPlan:
    """The plan a campaign was started with."""
    p = campaign.plan
    return domain.CallPlan(levels=tuple(tuple(x) for x in p["levels"]), max_days=p["max_days"],
                           max_calls=p["max_calls"], min_gap_minutes=p["min_gap_minutes"])


def state_of(session: Session, campaign: CallCampaign, cal: WorkCalendar) -> domain.CampaignState:
    """What the schedule needs: the calls made so far, counted per local day."""
    times = list(session.scalars(select(CallAttempt.at).where(CallAttempt.campaign_id == campaign.id)))
    return domain.CampaignState(started_at=campaign.started_at, calls=len(times),
                                last_call_at=max(times) if times else None,
                                calls_by_day=Counter(t.astimezone(cal.tz).date() for t in times),
                                running=campaign.status == "running")


def masked(phone: str) -> str:
    """138****0000: enough for a note, not a number to dial."""
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 8 else phone


def get(session: Session, campaign_id: int) -> CallCampaign:
    """One campaign, or 404."""
    campaign = session.get(CallCampaign, campaign_id)
    if campaign is None:
        raise NotFound("no-such-campaign", "追呼任务不存在", "No such call campaign")
    return campaign


def _phones(raw: list[str]) -> list[str]:
    out = []
    for text in raw:
        try:
            phone = domain.normalize_phone(text)
        except ValueError as exc:
            raise Invalid("bad-phone", f"无法识别的电话号码：{text}", f"Not a phone number: {text}") from exc
        if phone not in out:
            out.append(phone)
    return out


def start(session: Session, settings: Settings, cal: WorkCalendar, now: datetime, actor: Actor,
          body: CampaignIn) -> list[CallCampaign]:
    """Start one campaign per number printed on the ads of a 07001 case."""
    case = session.get(Case, body.case_id)
    if case is None:
        raise NotFound("no-such-case", "案件不存在", "No such case")
    if case.category_code != AD_MATTER:
        raise Conflict("not-an-ad-case", "追呼只用于“非法小广告”（07001）案件", "Call tracking needs a 07001 illegal-ad case")
    if case.stage in DEAD_STAGES:
        raise Conflict("case-not-valid", "案件已作废、重复或不予立案", "The case is void, merged or rejected")
    phones = _phones(body.phones)
    stopped = set(session.scalars(select(CallStop.phone).where(CallStop.phone.in_(phones))))
    if stopped:
        raise Conflict("on-stop-list", f"号码在免呼名单：{'、'.join(sorted(stopped))}",
                       f"On the stop list: {', '.join(sorted(stopped))}")
    busy = set(session.scalars(select(CallCampaign.phone).where(CallCampaign.phone.in_(phones),
                                                                  CallCampaign.status == "running")))
    if busy:
        raise Conflict("already-calling", f"号码已在追呼中：{'、'.join(sorted(busy))}",
                       f"Already being called: {', '.join(sorted(busy))}")
    plan = plan_of(settings, body.max_days, body.max_calls)
    first = domain.next_call(domain.CampaignState(started_at=now), now, cal, plan)
    made = []
    for phone in phones:
        campaign = CallCampaign(case_id=case.id, phone=phone, status="running", started_by=actor.id,
                                started_by_name=actor.display_name, started_at=now, calls=0, answered=0,
                                plan={"levels": [list(x) for x in plan.levels], "max_days": plan.max_days,
                                      "max_calls": plan.max_calls, "min_gap_minutes": plan.min_gap_minutes},
                                next_call_at=first.at)
        session.add(campaign)
        made.append(campaign)
    session.flush()
    ids = [c.id for c in made]
    audit.record(session, actor, "public.campaign.start", f"case:{case.id}", {"campaigns": ids, "phones": phones}, now)
    cases_api.note(session, settings, cal, now, case.id,
                    f"追呼开始（{actor.display_name}）：{'、'.join(masked(p) for p in phones)}",
                    {"call_campaigns": ids})
    session.commit()
    return made


def finish(session: Session, settings: Settings, cal: WorkCalendar, now: datetime, campaign: CallCampaign,
           reason: str, actor: Actor, note: str | None = None) -> None:
    """End a running campaign for a reason (domain.STOP_REASONS), audit it and note it on the case (no commit)."""
    status, zh, _ = domain.STOP_REASONS[reason]
    campaign.status, campaign.stop_reason, campaign.stop_note = status, reason, note
    campaign.stopped_by, campaign.stopped_by_name, campaign.stopped_at = actor.id, actor.display_name, now
    campaign.next_call_at = None
    audit.record(session, actor, f"public.campaign.{status}", f"campaign:{campaign.id}",
                 {"reason": reason, "note": note, "calls": campaign.calls}, now)
    text = f"追呼结束（{zh}）：{masked(campaign.phone)}，共呼叫 {campaign.calls} 次" + (f"。{note}" if note else "")
    cases_api.note(session, settings, cal, now, campaign.case_id, text,
                    {"call_campaign": campaign.id, "reason": reason})


def _running(session: Session, campaign_id: int) -> CallCampaign:
    campaign = get(session, campaign_id)
    if campaign.status != "running":
        raise Conflict("campaign-ended", "追呼任务已结束", "The campaign has already ended")
    return campaign


def clear(session: Session, settings: Settings, cal: WorkCalendar, now: datetime, actor: Actor, campaign_id: int,
          body: ClearIn) -> CallCampaign:
    """The number is cleared: the owner came forward, or the ads were removed and the removal verified (核查)."""
    campaign = _running(session, campaign_id)
    if body.reason == "ads_removed":
        stage = session.scalar(select(Case.stage).where(Case.id == campaign.case_id))
        if stage not in VERIFIED_STAGES:
            raise Conflict("not-verified", "小广告清除尚未核查通过，不能以此结束追呼",
                           "The removal has not been verified (核查) yet")
    finish(session, settings, cal, now, campaign, body.reason, actor, body.note)
    session.commit()
    return campaign


def stop(session: Session, settings: Settings, cal: WorkCalendar, now: datetime, actor: Actor, campaign_id: int,
         note: str | None) -> CallCampaign:
    """Stop a campaign by hand."""
    campaign = _running(session, campaign_id)
    finish(session, settings, cal, now, campaign, "manual", actor, note)
    session.commit()
    return campaign


def add_stop(session: Session, settings: Settings, cal: WorkCalendar, now: datetime, actor: Actor,
             body: StopListIn) -> CallStop:
    """Put a number on the stop list; its running campaigns stop."""
    phone = _phones([body.phone])[0]
    if session.scalar(select(CallStop.id).where(CallStop.phone == phone)) is not None:
        raise Conflict("already-listed", "号码已在免呼名单", "The number is already on the stop list")
    row = CallStop(phone=phone, reason=body.reason, added_by=actor.id, added_by_name=actor.display_name, added_at=now)
    session.add(row)
    audit.record(session, actor, "public.stoplist.add", f"phone:{phone}", {"reason": body.reason}, now)
    for campaign in session.scalars(select(CallCampaign).where(CallCampaign.phone == phone,
                                                                CallCampaign.status == "running")):
        finish(session, settings, cal, now, campaign, "stop_list", actor, body.reason)
    session.commit()
    return row


def remove_stop(session: Session, now: datetime, actor: Actor, stop_id: int) -> None:
    """Take a number off the stop list (audited)."""
    row = session.get(CallStop, stop_id)
    if row is None:
        raise NotFound("not-listed", "免呼名单中没有该记录", "No such stop list entry")
    audit.record(session, actor, "public.stoplist.remove", f"phone:{row.phone}", {"reason": row.reason}, now)
    session.delete(row)
    session.commit()
