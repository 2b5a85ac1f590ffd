"""Exchange API: the signed receiver of county batches, link health, mirrored cases, 上级交办 down, the ranking
of linked platforms, and the county's own uplink state."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from sqlalchemy import select

from cityloop.state import AppState
from cityloop.deps import ClockDep, SessionDep, SettingsDep, StateDep, require_roles
from cityloop.org.actor import Actor
from cityloop.exchange import downlink, queries, ranking, service
from cityloop.exchange.models import Assignment
from cityloop.exchange.pages import router as pages_router
from cityloop.exchange.schemas import AssignmentIn, AssignmentOut, BatchIn, BatchOut

router = APIRouter(prefix="/api/v1/exchange", tags=["exchange 数据交换"])
extra_routers = [pages_router]
VIEWERS = ("leader", "shift_lead", "dispatcher", "operator")
Viewer = Annotated[Actor, Depends(require_roles(*VIEWERS))]
SIGNATURE_DOC = {"parameters": [
    {"name": h, "in": "header", "required": True, "schema": {"type": "string"}, "description": d} for h, d in (
        ("X-Exchange-Platform", "平台编码（密钥编号）/ platform code (key id)"),
        ("X-Exchange-Timestamp", "Unix 秒 / Unix seconds"),
        ("X-Exchange-Signature", "hex HMAC-SHA256(key, 'v1\\n'+platform+'\\n'+timestamp+'\\n'+sha256hex(body))"))]}


async def signed_platform(request: Request, settings: SettingsDep, clock: ClockDep) -> str:
    """The verified platform of a signed request (checked before the body is trusted)."""
    body = await request.body()
    h = request.headers
    return service.verify(settings, h.get("x-exchange-platform"), h.get("x-exchange-timestamp"),
                          h.get("x-exchange-signature"), body, clock.now())


BATCH_DOC = {**SIGNATURE_DOC, "requestBody": {"required": True, "content": {"application/json": {
    "schema": BatchIn.model_json_schema(ref_template="#/components/schemas/{model}")}}}}


def parse_batch(body: bytes) -> BatchIn:
    """The batch straight from the signed bytes (pydantic's JSON parser: no second decode); 422 when invalid."""
    try:
        return BatchIn.model_validate_json(body)
    except ValidationError as exc:
        raise RequestValidationError([{**err, "loc": ("body", *err["loc"])} for err in exc.errors()]) from None


def receive(state: AppState, platform: str, body: bytes) -> dict[str, Any]:
    """Parse and apply in the worker thread; answer shaped as BatchOut."""
    batch = parse_batch(body)
    return service.receive(state.session_factory, platform, batch, state.clock.now())


@router.post("/batches", response_model=BatchOut, openapi_extra=BATCH_DOC)
async def receive_batch(request: Request, state: StateDep,
                        platform: Annotated[str, Depends(signed_platform)]) -> dict[str, Any]:
    """接收下级平台的数据批次 / Receive a county's signed batch (a `BatchIn`): applied in one transaction, in
    per-case order; a replay of the same batch_id gets the same answer; a batch older than the last taken is refused
    (409). Events of kind case.event, assessment.monthly, component.change (data: ComponentData) and alarm.summary
    (data: AlarmData)."""
    return await run_in_threadpool(receive, state, platform, await request.body())


@router.get("/links")
def links(session: SessionDep, actor: Viewer, settings: SettingsDep, clock: ClockDep) -> list[dict[str, Any]]:
    """各下级平台链路状态 / Each linked county's health: last batch, lag, errors, case counts."""
    return queries.links(session, settings, clock.now())


@router.get("/cases")
def cases(session: SessionDep, actor: Viewer, platform: str | None = Query(None, max_length=32),
          stage: str | None = Query(None, max_length=16),
          limit: int = Query(100, ge=1, le=1000)) -> list[dict[str, Any]]:
    """下级平台案件（镜像）/ Mirrored county cases, newest first."""
    return queries.cases(session, platform, stage, limit)


@router.get("/records")
def records(session: SessionDep, actor: Viewer,
            kind: Literal["component.change", "alarm.summary"] = Query(..., description="部件普查变更 / 告警摘要"),
            platform: str | None = Query(None, max_length=32),
            limit: int = Query(100, ge=1, le=1000)) -> list[dict[str, Any]]:
    """下级平台部件普查变更（基础数据）与监测告警摘要（运行数据）/ Linked platforms' newest component census rows
    or sensor alarm summaries, one per component / alarm."""
    return queries.records(session, kind, platform, limit)


@router.get("/cases/{platform}/{number}")
def case_detail(platform: str, number: str, session: SessionDep, actor: Viewer) -> dict[str, Any]:
    """一件镜像案件及其全部环节 / A mirrored case with every stage change."""
    return queries.case_detail(session, platform[:32], number[:32])


@router.post("/assignments", response_model=AssignmentOut, status_code=201)
def create_assignment(body: AssignmentIn, session: SessionDep,
                      actor: Annotated[Actor, Depends(require_roles("leader", "shift_lead"))],
                      settings: SettingsDep, clock: ClockDep) -> AssignmentOut:
    """上级交办 / Assign a case down to a linked county (delivered with its next batch answer)."""
    row = downlink.assign(session, settings, body, actor.display_name, clock.now())
    return downlink.describe(session, row)


@router.get("/assignments", response_model=list[AssignmentOut])
def list_assignments(session: SessionDep, actor: Viewer,
                     platform: str | None = Query(None, max_length=32)) -> list[AssignmentOut]:
    """交办记录及进展 / Assignments and the progress of the cases they became."""
    stmt = select(Assignment).order_by(Assignment.id.desc()).limit(500)
    if platform:
        stmt = stmt.where(Assignment.platform == platform)
    return [downlink.describe(session, row) for row in session.scalars(stmt)]


@router.get("/ranking")
def month_ranking(session: SessionDep, actor: Viewer, settings: SettingsDep,
                  month: str = Query(..., pattern=r"^\d{4}-(0[1-9]|1[0-2])$")) -> list[dict[str, Any]]:
    """下级平台月度排名 / The month's ranking of linked platforms from their mirrored cases."""
    return ranking.month(session, settings, month)


@router.get("/uplink")
def uplink_state(session: SessionDep, actor: Viewer, settings: SettingsDep, clock: ClockDep) -> dict[str, Any]:
    """本平台上报链路 / This (county) platform's link upward: pending events, last success, last error."""
    return queries.uplink(session, settings, clock.now())
