"""12345 工单 use cases: receive one from the webhook (a case, or parked with a reason), an operator's fix and
accept of a parked one, 退单, and 回访 after closing. Each loads, decides, writes and commits once."""

from __future__ import annotations

import json
import tomllib
from dataclasses import replace
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cityloop.cases import api as cases_api
from cityloop.cases.api import Case, CaseEvent, ActionIn, CoordSys, ReportIn, Locate, Ctx
from cityloop.catalog.cache import load_matters
from cityloop.config import Settings
from cityloop.org.actor import Actor
from cityloop.geo.coords import to_wgs84
from cityloop.places.service import best_point
from cityloop.shared.errors import AppError, Conflict, Invalid, NotFound
from cityloop.workorders import domain
from cityloop.workorders.models import WorkOrder, WorkOrderMessage

PLATFORM_ACTOR = Actor(id=None, username="channel:12345", display_name="12345热线", roles=frozenset({"system"}))


@lru_cache(maxsize=4)
def _mapping_file(path: str, mtime: float) -> domain.Mapping:
    raw = Path(path).read_bytes()
    doc = json.loads(raw) if path.endswith(".json") else tomllib.loads(raw.decode("utf-8"))
    return domain.merged_mapping(doc)


def mapping(settings: Settings) -> domain.Mapping:
    """The field and category mapping: the defaults, with the configured file laid over them (re-read on change)."""
    path = settings.workorder_mapping_file
    if path is None:
        return domain.merged_mapping(None)
    try:
        return _mapping_file(str(path), Path(path).stat().st_mtime)
    except (OSError, ValueError, tomllib.TOMLDecodeError) as exc:
        raise AppError("workorder-mapping-broken", f"12345 字段映射文件有误：{exc}",
                       f"The 12345 field mapping file is broken: {exc}", status=503) from exc


def find(session: Session, number: str | None, delivery_id: str | None) -> WorkOrder | None:
    """A 工单 already received under this number or delivery id."""
    conds = [WorkOrder.external_no == number] if number else []
    if delivery_id:
        conds.append(WorkOrder.delivery_id == delivery_id)
    return session.scalar(select(WorkOrder).where(or_(*conds))) if conds else None


def get(session: Session, ident: int) -> WorkOrder:
    """A 工单 by id, or 404."""
    row = session.get(WorkOrder, ident)
    if row is None:
        raise NotFound("workorder-not-found", f"工单 {ident} 不存在", f"Work order {ident} not found")
    return row


def receive(ctx: Ctx, raw: dict[str, Any], delivery_id: str | None, locate: Locate) -> tuple[WorkOrder, bool]:
    """Take a 工单 from the platform: a case when it can be placed and categorised, else parked with the reason.
    Returns (work order, created); a replay (same 工单编号 or delivery id) returns the first and adds nothing."""
    fields = domain.apply_mapping(mapping(ctx.settings), raw)
    number = fields["number"]
    if not number or len(number) > 64:
        raise Invalid("workorder-number-required", "工单缺少工单编号（或超过 64 个字符）",
                      "The work order has no number (or one longer than 64 characters)")
    existing = find(ctx.session, number, delivery_id)
    if existing is not None:
        return existing, False
    try:
        deadline = domain.parse_deadline(fields["deadline"], ctx.settings.timezone)
    except ValueError:
        raise Invalid("workorder-bad-deadline", f"办理时限格式错误：{fields['deadline']}",
                      f"The deadline is not a date and time: {fields['deadline']}") from None
    order = WorkOrder(external_no=number, delivery_id=delivery_id, raw=raw, fields=fields, status="parked",
                      deadline=deadline, received_at=ctx.now)
    ctx.session.add(order)
    try:
        ctx.session.flush()
        try:
            order.reason = _open_case(ctx, order, locate, None, None)
        except (AppError, ValueError):  # refused before anything was written: the 工单 waits for an operator
            order.reason = "intake-refused"
        ctx.session.commit()
    except IntegrityError:  # the same 工单 arrived twice at once: the other request created it
        ctx.session.rollback()
        existing = find(ctx.session, number, delivery_id)
        if existing is None:
            raise
        return existing, False
    return order, True


Point = tuple[float, float, CoordSys]  # lon, lat, coord_sys


def _place(ctx: Ctx, order: WorkOrder, locate: Locate, point: Point | None) -> tuple[Point | None, str | None]:
    """(lon, lat, coord_sys) of the 工单, or the reason it cannot be placed."""
    if point is not None:
        return point, None
    address = order.fields.get("address")
    if not address:
        return None, "no-address"
    found = best_point(ctx.session, address)
    if found is None:
        return None, "address-not-found"
    if locate(found.lon, found.lat) is None:
        return None, "outside-district"
    return (found.lon, found.lat, "wgs84"), None


def _open_case(ctx: Ctx, order: WorkOrder, locate: Locate, point: Point | None, category: str | None) -> str | None:
    """Open the 工单's case (not committed) and link it; or return why it stays parked."""
    code = category or domain.category_code(mapping(ctx.settings), order.fields.get("category"))
    if not code:
        return "no-category"
    if load_matters(ctx.session, ctx.settings.catalog_standard, code).get(code) is None:
        return "unknown-category"
    where, reason = _place(ctx, order, locate, point)
    if reason or where is None:
        return reason
    lon, lat, coord_sys = where
    f = order.fields
    body = ReportIn(category_code=code, lon=lon, lat=lat, coord_sys=coord_sys, source="hotline",
                    description=(f.get("description") or f"12345 工单 {order.external_no}")[:4000],
                    address=address[:256] if (address := f.get("address")) else None,
                    reporter_name=contact[:100] if (contact := f.get("contact")) else None,
                    reporter_phone=phone[:32] if (phone := f.get("phone")) else None)
    prepared = cases_api.prepare(ctx, body, locate, to_wgs84, None, verify=ctx.settings.workorder_verify,
                              required_due_at=order.deadline)
    assert isinstance(prepared, cases_api.Prepared)  # without an Idempotency-Key nothing is a replay
    prepared.event["payload"] = {**prepared.event["payload"], "workorder": order.external_no}
    case = cases_api.write(ctx.session, [prepared], ctx.settings)[0]
    order.case_id, order.status, order.reason = case.id, "case", None
    return None


def accept_parked(ctx: Ctx, ident: int, locate: Locate, category: str | None, address: str | None,
                  point: Point | None) -> WorkOrder:
    """An operator fixes a parked 工单 (category, address or a point) and accepts it: the case is opened and
    受理 at once, so the platform hears 签收. A fix that still does not hold is a 422 and changes nothing."""
    order = get(ctx.session, ident)
    if order.status != "parked":
        raise Conflict("workorder-not-parked", "该工单不在待处理队列中", "The work order is not parked")
    if address:
        order.fields = {**order.fields, "address": address.strip()[:256]}
    reason = _open_case(ctx, order, locate, point, category.strip() if category else None)
    if reason:
        ctx.session.rollback()
        zh, en = domain.PARK_REASONS[reason]
        raise Invalid(f"workorder-{reason}", zh, en)
    order.decided_at, order.decided_by = ctx.now, ctx.actor.display_name
    ctx.session.flush()  # the case hook finds the link for the 签收
    assert order.case_id is not None  # _open_case linked it
    cases_api.apply_in_transaction(ctx, order.case_id, "accept", ActionIn())
    ctx.session.commit()
    return order


def return_order(ctx: Ctx, ident: int, reason: str) -> WorkOrder:
    """退单: a 工单 outside 城管 scope goes back with the reason (parked, or its case still at 受理)."""
    reason = (reason or "").strip()
    if not reason:
        raise Invalid("return-reason-required", "退单需要填写原因", "A return needs a reason")
    order = get(ctx.session, ident)
    if order.status == "parked":
        order.status, order.return_reason = "returned", reason[:500]
        order.decided_at, order.decided_by = ctx.now, ctx.actor.display_name
        ctx.session.add(message(order, "return", f"{order.external_no}:return", ctx.now,
                                {"reason": reason[:500], "actor": ctx.actor.display_name}))
    elif order.status == "case":
        case = ctx.session.get_one(Case, order.case_id)
        if case.stage != "reported":
            raise Conflict("workorder-not-returnable", "案件已受理，不能再退单", "The case is past 受理: it can no longer be returned")
        cases_api.apply_in_transaction(ctx, case.id, "reject", ActionIn(note=reason[:2000]))  # the hook sends 退单
        order.decided_at, order.decided_by = ctx.now, ctx.actor.display_name
    else:
        raise Conflict("workorder-returned", "该工单已退单", "The work order was already returned")
    ctx.session.commit()
    return order


def record_callback(ctx: Ctx, ident: int, result: str, rating: str) -> WorkOrder:
    """回访 after 办结: the return call's outcome and the caller's satisfaction, as the case's "rate" event."""
    order = get(ctx.session, ident)
    if order.case_id is None:
        raise Conflict("workorder-no-case", "该工单没有案件", "The work order has no case")
    case = cases_api.load_case(ctx.session, order.case_id, lock=True)
    if case.stage != "closed":
        raise Conflict("workorder-not-closed", "案件结案后才能回访", "The case must be closed before the return call")
    rated = ctx.session.scalar(select(CaseEvent.id).where(CaseEvent.case_id == case.id, CaseEvent.action == "rate"))
    if rated is not None:
        raise Conflict("already-rated", "该案件已回访/评价过", "This case has already been rated")
    cases_api.record(replace(ctx, photos=[]), case, "rate", case.stage,
                    {"rating": rating, "via": "callback", "result": (result or "").strip()[:500]})
    ctx.session.commit()
    return order


def message(order: WorkOrder, kind: str, key: str, at: datetime, extra: dict[str, Any]) -> WorkOrderMessage:
    """An outbox row for the platform (added by the caller's transaction)."""
    body = {"message_id": key, "kind": kind, "kind_name": domain.KINDS[kind][0], "workorder_no": order.external_no,
            "at": at.isoformat(), **extra}
    return WorkOrderMessage(workorder_id=order.id, kind=kind, dedupe_key=key[:128], body=body, created_at=at,
                            attempts=0, next_attempt_at=at)
