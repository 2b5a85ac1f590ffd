"""The 追呼 dialer: one pass calls every campaign whose next call is due. The telephony call happens outside any
database transaction (a gateway may take seconds; SQLite writers must not wait on it)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cityloop.config import Settings
from cityloop.org.actor import SYSTEM_ACTOR
from cityloop.public import campaigns, domain
from cityloop.public.models import CallAttempt, CallCampaign, CallStop
from cityloop.public.telephony import CallOutcome, Telephony
from cityloop.shared.clock import Clock
from cityloop.sla.service import calendar

log = logging.getLogger("cityloop.public")
BATCH = 200  # campaigns looked at per pass


@dataclass(frozen=True)
class Due:
    campaign_id: int
    phone: str
    level: int
    day_no: int
    attempt_no: int


def _decide(session: Session, settings: Settings, clock: Clock, campaign: CallCampaign) -> Due | None:
    """Stop the campaign, move its next call later, or say it is due now (the caller commits)."""
    now = clock.now()
    cal = calendar(session, settings)
    if session.scalar(select(CallStop.id).where(CallStop.phone == campaign.phone)) is not None:
        campaigns.finish(session, settings, cal, now, campaign, "stop_list", SYSTEM_ACTOR)
        return None
    decision = domain.next_call(campaigns.state_of(session, campaign, cal), now, cal, campaigns.stored_plan(campaign))
    if decision.kind == "stop":
        campaigns.finish(session, settings, cal, now, campaign, decision.reason or "limit", SYSTEM_ACTOR)
        return None
    assert decision.at is not None  # a call always has its time
    if decision.at > now:
        campaign.next_call_at = decision.at
        return None
    return Due(campaign.id, campaign.phone, decision.level, decision.day_no, campaign.calls + 1)


def _record(session: Session, settings: Settings, clock: Clock, due: Due, recording: str, outcome: CallOutcome) -> None:
    """Store the attempt; stop on a result that ends the campaign, else schedule the next call."""
    now = clock.now()
    campaign = session.get_one(CallCampaign, due.campaign_id)  # campaigns are never deleted
    session.add(CallAttempt(campaign_id=campaign.id, at=now, level=due.level, day_no=due.day_no, recording=recording,
                            result=outcome.result, duration_s=outcome.duration_s, gateway_ref=outcome.ref,
                            error=outcome.error))
    campaign.calls += 1
    campaign.answered += outcome.result == "answered"
    campaign.last_call_at = now
    session.flush()
    if campaign.status != "running":  # stopped by staff while the phone rang: the call is kept, nothing more
        return
    cal = calendar(session, settings)
    reason = domain.STOP_ON_RESULT.get(outcome.result)
    if reason:
        campaigns.finish(session, settings, cal, now, campaign, reason, SYSTEM_ACTOR)
        return
    decision = domain.next_call(campaigns.state_of(session, campaign, cal), now, cal, campaigns.stored_plan(campaign))
    if decision.kind == "stop":
        campaigns.finish(session, settings, cal, now, campaign, decision.reason or "limit", SYSTEM_ACTOR)
    else:
        campaign.next_call_at = decision.at


def dial_due(session_factory: sessionmaker[Session], settings: Settings, telephony: Telephony, clock: Clock) -> int:
    """Call every campaign that is due (oldest first); return how many calls were made."""
    with session_factory() as session:
        ids = list(session.scalars(select(CallCampaign.id).where(CallCampaign.status == "running",
                                                                  CallCampaign.next_call_at <= clock.now())
                                   .order_by(CallCampaign.next_call_at, CallCampaign.id).limit(BATCH)))
    made = 0
    for campaign_id in ids:
        with session_factory() as session:
            campaign = session.get_one(CallCampaign, campaign_id)
            due = _decide(session, settings, clock, campaign) if campaign.status == "running" else None
            session.commit()
        if due is None:
            continue
        recording = settings.public_call_recordings.get(str(due.level)) or f"warning-{due.level}"
        try:
            outcome = telephony.call(due.phone, recording, f"cityloop-{due.campaign_id}-{due.attempt_no}")
        except Exception as exc:  # noqa: BLE001 - a broken gateway is a failed call, never a dead dialer
            log.exception("voice gateway failed")
            outcome = CallOutcome("failed", error=str(exc)[:200])
        with session_factory() as session:
            _record(session, settings, clock, due, recording, outcome)
            session.commit()
        made += 1
    return made
