"""12345 工单 endpoints: the platform's signed webhook, and the operators' queue (fix and accept, 退单, 回访)."""

from __future__ import annotations

import json

from typing import Annotated, cast

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.state import AppState
from cityloop.cases.api import Case, Ctx
from cityloop.deps import GridIndexDep, SessionDep, StateDep, get_grid_index, require_roles
from cityloop.org.actor import Actor
from cityloop.shared.errors import Forbidden, Invalid, Unauthorized
from cityloop.shared.ids import MAX_ID
from cityloop.sla.service import work_calendar
from cityloop.workorders import domain, service
from cityloop.workorders.models import WorkOrder, WorkOrderMessage
from cityloop.workorders.pages import router as pages_router
from cityloop.workorders.schemas import (
    AcceptIn, CallbackIn, MessageOut, ReturnIn, WebhookOut, WebhookStatus, WorkOrderOut,
)

router = APIRouter(prefix="/api/v1/workorders", tags=["workorders 12345工单"])
extra_routers = [pages_router]
OPERATORS = ("operator", "shift_lead")
VIEWERS = ("operator", "shift_lead", "dispatcher", "leader")
SIGNED_DOC = {"parameters": [
    {"name": h, "in": "header", "required": False, "schema": {"type": "string", "maxLength": 128}}
    for h in ("X-12345-Timestamp", "X-12345-Signature", "X-12345-Delivery")]}
MAX_BODY = 256 * 1024
Ident = Path(..., ge=1, le=MAX_ID, description="工单 id")


Viewer = Annotated[Actor, Depends(require_roles(*VIEWERS))]
Operator = Annotated[Actor, Depends(require_roles("operator"))]


def _ctx(state: AppState, session: Session, actor: Actor) -> Ctx:
    cal = work_calendar(state.read_session_factory, state.settings)
    return Ctx(session, state.settings, cal, state.clock.now(), actor)


def _out(session: Session, order: WorkOrder) -> WorkOrderOut:
    number = session.scalar(select(Case.number).where(Case.id == order.case_id)) if order.case_id else None
    text = domain.PARK_REASONS.get(order.reason or "", (None,))[0] if order.status == "parked" else None
    return WorkOrderOut(id=order.id, external_no=order.external_no, status=order.status, reason=order.reason,
                        reason_text=text, return_reason=order.return_reason, fields=order.fields,
                        deadline=order.deadline, case_id=order.case_id, case_number=number,
                        received_at=order.received_at, decided_at=order.decided_at, decided_by=order.decided_by)


def _verify(request: Request, state: AppState, body: bytes) -> None:
    settings = state.settings
    if settings.workorder_secret is None:
        # No secret, no way to tell the platform from anyone else: refused (a 5xx would read as our failure).
        raise Forbidden("workorder-not-configured", "12345 对接未启用（未配置对接密钥）",
                        "The 12345 exchange is not enabled (no shared secret is set)")
    try:
        domain.check_signature(settings.workorder_secret.get_secret_value(), request.headers.get("x-12345-timestamp"),
                               request.headers.get("x-12345-signature"), body, state.clock.now(),
                               settings.workorder_max_skew_seconds)
    except domain.SignatureError as exc:
        raise Unauthorized(exc.code, exc.zh, exc.en) from exc


@router.post("/12345", response_model=WebhookOut, status_code=201, openapi_extra=SIGNED_DOC,
             responses={200: {"model": WebhookOut, "description": "重复推送 / a replay: nothing added"}})
async def webhook(request: Request, state: StateDep, session: SessionDep) -> Response:
    """12345 工单推送 / A 工单 from the 12345 platform (signed JSON). 201: new (a case, or parked for an operator);
    200: a replay of one already received (nothing added)."""
    body = await request.body()
    if len(body) > MAX_BODY:
        raise Invalid("body-too-large", "请求体过大", "The body is too large")
    _verify(request, state, body)
    try:
        raw = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        raise Invalid("bad-json", "请求体不是有效的 JSON", "The body is not valid JSON") from None
    if not isinstance(raw, dict):
        raise Invalid("bad-json", "请求体必须是 JSON 对象", "The body must be a JSON object")
    delivery = request.headers.get("x-12345-delivery") or None
    if delivery is not None and len(delivery) > 128:
        raise Invalid("bad-delivery-id", "投递编号过长", "The delivery id is longer than 128 characters")
    order, created = service.receive(_ctx(state, session, service.PLATFORM_ACTOR), raw, delivery,
                                     get_grid_index(request).locate)
    out = _out(session, order)
    status = cast(WebhookStatus, order.status)  # the column holds one of these
    reply = WebhookOut(workorder_no=order.external_no, status=status, case_number=out.case_number,
                       reason=out.reason, reason_text=out.reason_text, duplicate=not created)
    return Response(reply.model_dump_json(), status_code=201 if created else 200, media_type="application/json")


@router.get("", response_model=list[WorkOrderOut])
def list_orders(session: SessionDep, actor: Viewer,
                status: str | None = Query(None, pattern="^(parked|case|returned)$"),
                limit: int = Query(100, ge=1, le=500)) -> list[WorkOrderOut]:
    """12345 工单列表 / Work orders, newest first (status=parked: the operators' queue)."""
    stmt = select(WorkOrder).order_by(WorkOrder.id.desc()).limit(limit)
    if status:
        stmt = stmt.where(WorkOrder.status == status)
    return [_out(session, o) for o in session.scalars(stmt)]


@router.get("/{ident}", response_model=WorkOrderOut)
def one(session: SessionDep, actor: Viewer, ident: int = Ident) -> WorkOrderOut:
    """12345 工单 / One work order."""
    return _out(session, service.get(session, ident))


@router.get("/{ident}/messages", response_model=list[MessageOut])
def messages(session: SessionDep, actor: Viewer, ident: int = Ident) -> list[MessageOut]:
    """回传记录 / The messages back to the platform and whether they went out."""
    service.get(session, ident)
    rows = session.scalars(select(WorkOrderMessage).where(WorkOrderMessage.workorder_id == ident)
                           .order_by(WorkOrderMessage.id))
    return [MessageOut.model_validate(r, from_attributes=True) for r in rows]


@router.post("/{ident}/accept", response_model=WorkOrderOut)
def accept(body: AcceptIn, state: StateDep, session: SessionDep, actor: Operator, index: GridIndexDep,
           ident: int = Ident) -> WorkOrderOut:
    """修正并受理 / Fix a parked 工单 (category, address or point) and accept it as a case (签收 goes back)."""
    if (body.lon is None) != (body.lat is None):
        raise Invalid("lon-lat-pair", "经度和纬度需同时给出", "Give both lon and lat")
    point = (body.lon, body.lat, body.coord_sys) if body.lon is not None and body.lat is not None else None
    order = service.accept_parked(_ctx(state, session, actor), ident, index.locate,
                                  body.category_code, body.address, point)
    return _out(session, order)


@router.post("/{ident}/return", response_model=WorkOrderOut)
def return_order(body: ReturnIn, state: StateDep, session: SessionDep, actor: Operator,
                 ident: int = Ident) -> WorkOrderOut:
    """退单 / Return a 工单 outside 城管 scope with the reason (parked, or its case still at 受理)."""
    return _out(session, service.return_order(_ctx(state, session, actor), ident, body.reason))


@router.post("/{ident}/callback", response_model=WorkOrderOut)
def callback(body: CallbackIn, state: StateDep, session: SessionDep,
             actor: Annotated[Actor, Depends(require_roles(*OPERATORS))], ident: int = Ident) -> WorkOrderOut:
    """回访 / Record the return call after 办结: its outcome and the caller's satisfaction (满意率 counts it)."""
    return _out(session, service.record_callback(_ctx(state, session, actor), ident, body.result, body.rating))
