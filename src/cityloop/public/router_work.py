"""Public services API, staff work: 便民服务 records and their monthly figures, 追呼 campaigns and the stop list."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Response
from sqlalchemy.orm import Session

from cityloop.config import Settings
from cityloop.deps import ClockDep, GridIndexDep, SessionDep, SettingsDep, require_roles
from cityloop.org.actor import Actor
from cityloop.http.params import PathId as Id
from cityloop.shared.fields import MAX_ID
from cityloop.public.schemas import NO_NUL
from cityloop.public import campaigns, convenience, queries, schemas
from cityloop.public.models import CallCampaign, CallStop, ConvenienceRecord
from cityloop.shared.clock import Clock
from cityloop.sla.domain import WorkCalendar
from cityloop.sla.service import calendar

router = APIRouter(prefix="/api/v1/public", tags=["public 公众服务"])
RECORD = ("inspector", "operator", "shift_lead")
READ = (*RECORD, "dispatcher", "leader")
CALLS = ("operator", "shift_lead", "dispatcher")
CALLS_READ = (*CALLS, "leader")
STOP_LIST = ("shift_lead", "dispatcher")
MONTH = r"^\d{4}-\d{2}$"
Recorder = Annotated[Actor, Depends(require_roles(*RECORD))]
Reader = Annotated[Actor, Depends(require_roles(*READ))]
Caller = Annotated[Actor, Depends(require_roles(*CALLS))]
CallsReader = Annotated[Actor, Depends(require_roles(*CALLS_READ))]
StopLister = Annotated[Actor, Depends(require_roles(*STOP_LIST))]


def _tz(settings: Settings) -> ZoneInfo:
    return ZoneInfo(settings.timezone)


def _ctx(settings: Settings, clock: Clock, session: Session) -> tuple[Settings, WorkCalendar, datetime]:
    return settings, calendar(session, settings), clock.now()


@router.post("/convenience", response_model=schemas.ConvenienceOut, status_code=201)
def add_record(body: schemas.ConvenienceIn, clock: ClockDep, session: SessionDep, index: GridIndexDep,
               actor: Recorder) -> ConvenienceRecord:
    """登记便民服务 / Log a service given to someone."""
    return convenience.record(session, body, actor, index.locate, clock.now())


@router.get("/convenience", response_model=list[schemas.ConvenienceOut])
def list_records(settings: SettingsDep, session: SessionDep, actor: Reader, kind: schemas.ServiceKind | None = None,
                 month: str | None = Query(None, pattern=MONTH), limit: int = Query(100, ge=1, le=1000),
                 offset: int = Query(0, ge=0)) -> list[ConvenienceRecord]:
    """便民服务记录 / Service records, newest first."""
    return convenience.listing(session, kind, month, _tz(settings), limit, offset)


@router.get("/convenience/stats", response_model=None)
def record_stats(settings: SettingsDep, session: SessionDep, actor: Reader,
                 month: str = Query(pattern=MONTH)) -> dict[str, Any]:
    """便民服务月度统计 / A month's services: people served, thanks letters, banners."""
    return convenience.month_stats(session, month, _tz(settings))


@router.post("/convenience/{record_id}/claim", response_model=schemas.ConvenienceOut)
def claim(record_id: Id, body: schemas.ClaimIn, clock: ClockDep, session: SessionDep,
          actor: Recorder) -> ConvenienceRecord:
    """失物认领 / The owner collected a found item."""
    return convenience.claim(session, record_id, body, clock.now())


@router.post("/campaigns", response_model=list[schemas.CampaignOut], status_code=201)
def start(body: schemas.CampaignIn, settings: SettingsDep, clock: ClockDep, session: SessionDep,
          actor: Caller) -> list[CallCampaign]:
    """发起追呼 / Start calling the numbers on the ads of a 07001 case."""
    return campaigns.start(session, *_ctx(settings, clock, session), actor, body)


@router.get("/campaigns", response_model=list[schemas.CampaignOut])
def list_campaigns(session: SessionDep, actor: CallsReader,
                   status: str | None = Query(None, max_length=12, pattern=NO_NUL),
                   case_id: int | None = Query(None, ge=1, le=MAX_ID),
                   limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0)) -> list[CallCampaign]:
    """追呼任务 / Campaigns, newest first."""
    return queries.campaigns(session, status, case_id, limit, offset)


@router.get("/campaigns/stats", response_model=None)
def campaign_stats(clock: ClockDep, session: SessionDep, actor: CallsReader,
                   days: int | None = Query(None, ge=1, le=3660)) -> dict[str, Any]:
    """追呼统计 / Campaigns by outcome, calls made and answered."""
    since = clock.now() - timedelta(days=days) if days else None
    return queries.campaign_stats(session, since)


@router.get("/campaigns/{campaign_id}", response_model=schemas.CampaignDetail)
def get_campaign(campaign_id: Id, session: SessionDep, actor: CallsReader) -> dict[str, Any]:
    """追呼详情 / A campaign with every call."""
    campaign = campaigns.get(session, campaign_id)
    out = schemas.CampaignOut.model_validate(campaign).model_dump()
    return {**out, "attempts": queries.attempts(session, campaign_id)}


@router.post("/campaigns/{campaign_id}/clear", response_model=schemas.CampaignOut)
def clear(campaign_id: Id, body: schemas.ClearIn, settings: SettingsDep, clock: ClockDep, session: SessionDep,
          actor: Caller) -> CallCampaign:
    """号码已销号 / The number is cleared: the owner came forward, or the removal was verified."""
    return campaigns.clear(session, *_ctx(settings, clock, session), actor, campaign_id, body)


@router.post("/campaigns/{campaign_id}/stop", response_model=schemas.CampaignOut)
def stop(campaign_id: Id, body: schemas.StopIn, settings: SettingsDep, clock: ClockDep, session: SessionDep,
         actor: Caller) -> CallCampaign:
    """停止追呼 / Stop a campaign by hand."""
    return campaigns.stop(session, *_ctx(settings, clock, session), actor, campaign_id, body.note)


@router.get("/stop-list", response_model=list[schemas.StopListOut])
def stop_list(session: SessionDep, actor: CallsReader) -> list[CallStop]:
    """免呼名单 / Numbers never to be called."""
    return queries.stop_list(session)


@router.post("/stop-list", response_model=schemas.StopListOut, status_code=201)
def add_stop(body: schemas.StopListIn, settings: SettingsDep, clock: ClockDep, session: SessionDep,
             actor: StopLister) -> CallStop:
    """加入免呼名单 / Put a number on the stop list (its campaigns stop)."""
    return campaigns.add_stop(session, *_ctx(settings, clock, session), actor, body)


@router.delete("/stop-list/{stop_id}", status_code=204)
def remove_stop(stop_id: Id, clock: ClockDep, session: SessionDep, actor: StopLister) -> Response:
    """移出免呼名单 / Take a number off the stop list."""
    campaigns.remove_stop(session, clock.now(), actor, stop_id)
    return Response(status_code=204)
