"""Exchange API: the signed receiver of county batches, link health, mirrored cases, 上级交办 down, the ranking
of linked platforms, and the county's own uplink state."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.state import AppState, app_state
from cityloop.deps import get_session, require_roles
from cityloop.org.actor import Actor
from cityloop.exchange import downlink, queries, ranking, service
from cityloop.exchange.models import Assignment
from cityloop.exchange.pages import router as pages_router
from cityloop.exchange.schemas import AssignmentIn, AssignmentOut, BatchIn, BatchOut

router = APIRouter(prefix="/api/v1/exchange", tags=["exchange 数据交换"])
extra_routers = [pages_router]
VIEWERS = ("leader", "shift_lead", "dispatcher", "operator")
SIGNATURE_DOC = {"parameters": [
    {"name": h, "in": "header", "required": True, "schema": {"type": "string"}, "description": d} for h, d in (
        ("X-Exchange-Platform", "平台编码（密钥编号）/ platform code (key id)"),
        ("X-Exchange-Timestamp", "Unix 秒 / Unix seconds"),
        ("X-Exchange-Signature", "hex HMAC-SHA256(key, 'v1\\n'+platform+'\\n'+timestamp+'\\n'+sha256hex(body))"))]}


async def signed_platform(request: Request) -> str:
    """The verified platform of a signed request (checked before the body is trusted)."""
    body = await request.body()
    h = request.headers
    return service.verify(app_state(request.app).settings, h.get("x-exchange-platform"), h.get("x-exchange-timestamp"),
                          h.get("x-exchange-signature"), body, app_state(request.app).clock.now())


BATCH_DOC = {**SIGNATURE_DOC, "requestBody": {"required": True, "content": {"application/json": {
    "schema": BatchIn.model_json_schema(ref_template="#/components/schemas/{model}")}}}}


def parse_batch(body: bytes) -> BatchIn:
    """The batch straight from the signed bytes (pydantic's JSON parser: no second decode); 422 when invalid."""
    try:
        return BatchIn.model_validate_json(body)
    except ValidationError as exc:
        raise RequestValidationError([{**err, "loc": ("body", *err["loc"])} for err in exc.errors()]) from None


def receive(state: AppState, platform: str, body: bytes) -> dict:
    """Parse and apply in the worker thread; answer shaped as BatchOut."""
    batch = parse_batch(body)
    return service.receive(state.session_factory, platform, batch, state.clock.now())


@router.post("/batches", response_model=BatchOut, openapi_extra=BATCH_DOC)
async def receive_batch(request: Request, platform: str = Depends(signed_platform)):
    """接收下级平台的数据批次 / Receive a county's signed batch (a `BatchIn`): applied in one transaction, in
    per-case order; a replay of the same batch_id gets the same answer; a batch older than the last taken is refused
    (409). Events of kind case.event, assessment.monthly, component.change (data: ComponentData) and alarm.summary
    (data: AlarmData)."""
    return await run_in_threadpool(receive, app_state(request.app), platform, await request.body())


@router.get("/links")
def links(request: Request, session: Session = Depends(get_session),
          actor: Actor = Depends(require_roles(*VIEWERS))) -> list[dict]:
    """各下级平台链路状态 / Each linked county's health: last batch, lag, errors, case counts."""
    return queries.links(session, app_state(request.app).settings, app_state(request.app).clock.now())


@router.get("/cases")
def cases(platform: str | None = Query(None, max_length=32), stage: str | None = Query(None, max_length=16),
          limit: int = Query(100, ge=1, le=1000), session: Session = Depends(get_session),
          actor: Actor = Depends(require_roles(*VIEWERS))) -> list[dict]:
    """下级平台案件（镜像）/ Mirrored county cases, newest first."""
    return queries.cases(session, platform, stage, limit)


@router.get("/records")
def records(kind: Literal["component.change", "alarm.summary"] = Query(..., description="部件普查变更 / 告警摘要"),
            platform: str | None = Query(None, max_length=32), limit: int = Query(100, ge=1, le=1000),
            session: Session = Depends(get_session), actor: Actor = Depends(require_roles(*VIEWERS))) -> list[dict]:
    """下级平台部件普查变更（基础数据）与监测告警摘要（运行数据）/ Linked platforms' newest component census rows
    or sensor alarm summaries, one per component / alarm."""
    return queries.records(session, kind, platform, limit)


@router.get("/cases/{platform}/{number}")
def case_detail(platform: str, number: str, session: Session = Depends(get_session),
                actor: Actor = Depends(require_roles(*VIEWERS))) -> dict:
    """一件镜像案件及其全部环节 / A mirrored case with every stage change."""
    return queries.case_detail(session, platform[:32], number[:32])


@router.post("/assignments", response_model=AssignmentOut, status_code=201)
def create_assignment(body: AssignmentIn, request: Request, session: Session = Depends(get_session),
                      actor: Actor = Depends(require_roles("leader", "shift_lead"))):
    """上级交办 / Assign a case down to a linked county (delivered with its next batch answer)."""
    state = app_state(request.app)
    row = downlink.assign(session, state.settings, body, actor.display_name, state.clock.now())
    return downlink.describe(session, row)


@router.get("/assignments", response_model=list[AssignmentOut])
def list_assignments(platform: str | None = Query(None, max_length=32), session: Session = Depends(get_session),
                     actor: Actor = Depends(require_roles(*VIEWERS))):
    """交办记录及进展 / Assignments and the progress of the cases they became."""
    stmt = select(Assignment).order_by(Assignment.id.desc()).limit(500)
    if platform:
        stmt = stmt.where(Assignment.platform == platform)
    return [downlink.describe(session, row) for row in session.scalars(stmt)]


@router.get("/ranking")
def month_ranking(request: Request, month: str = Query(..., pattern=r"^\d{4}-(0[1-9]|1[0-2])$"),
                  session: Session = Depends(get_session),
                  actor: Actor = Depends(require_roles(*VIEWERS))) -> list[dict]:
    """下级平台月度排名 / The month's ranking of linked platforms from their mirrored cases."""
    return ranking.month(session, app_state(request.app).settings, month)


@router.get("/uplink")
def uplink_state(request: Request, session: Session = Depends(get_session),
                 actor: Actor = Depends(require_roles(*VIEWERS))) -> dict:
    """本平台上报链路 / This (county) platform's link upward: pending events, last success, last error."""
    return queries.uplink(session, app_state(request.app).settings, app_state(request.app).clock.now())
