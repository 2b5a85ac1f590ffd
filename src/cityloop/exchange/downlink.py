"""上级交办 through the exchange. City side: create an assignment for a county. County side: turn a delivered
assignment into a real case through the usual intake (once per ref), tagged so its events carry the ref up."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.cases.api import ReportIn, Ctx
from cityloop.exchange.models import Assignment, MirrorCase, Received, Uplink
from cityloop.exchange.schemas import AssignmentIn, AssignmentOut
from cityloop.shared.errors import AppError, Invalid, NotFound
from cityloop.config import Settings
from cityloop.sla.domain import WorkCalendar

if TYPE_CHECKING:
    from cityloop.geo.domain import Place

log = logging.getLogger("cityloop.exchange")
Locate = Callable[[float, float], "Place | None"]  # the grid index's lookup: a point's place, or None


def assign(session: Session, settings: Settings, body: AssignmentIn, by: str, now: datetime) -> Assignment:
    """Record an assignment for a linked county platform (delivered with its next batch answer)."""
    if body.platform not in settings.exchange_downstream:
        raise NotFound("unknown-platform", f"未对接的下级平台：{body.platform}", f"No linked platform {body.platform}")
    if body.required_due_at <= now:
        raise Invalid("deadline-passed", "要求办结时间必须晚于当前时间", "required_due_at must be in the future")
    if body.lon is None or body.lat is None:
        if not body.address:
            raise Invalid("location-required", "请给出坐标（lon/lat）或地址", "Give lon/lat or an address")
    ref = body.ref or f"JB{now:%Y%m%d}{secrets.token_hex(4).upper()}"
    if session.scalar(select(Assignment.id).where(Assignment.ref == ref)) is not None:
        raise AppError("duplicate-ref", f"交办编号 {ref} 已存在", f"Assignment {ref} exists", status=409)
    data = body.model_dump(mode="json", exclude={"platform", "ref"})
    row = Assignment(ref=ref, platform=body.platform, body={**data, "assigned_by": by[:100]}, created_at=now,
                     created_by=by[:100])
    session.add(row)
    session.commit()
    return row


def describe(session: Session, row: Assignment) -> AssignmentOut:
    """An assignment with the county case it became, as mirrored here."""
    mirror = session.scalar(select(MirrorCase).where(MirrorCase.assignment_ref == row.ref,
                                                     MirrorCase.platform == row.platform))
    return AssignmentOut(ref=row.ref, platform=row.platform, created_at=row.created_at, delivered_at=row.delivered_at,
                         accepted_at=row.accepted_at, case_number=mirror.number if mirror else None,
                         stage=mirror.stage if mirror else None)


def take_all(session: Session, settings: Settings, now: datetime, items: list[dict[str, Any]],
             locate: Locate, cal: WorkCalendar) -> int:
    """County side: open a case for each new assignment; a bad one is logged on the uplink and skipped."""
    taken = 0
    for item in items:
        ref = str(item.get("ref") or "")[:64]
        if not ref or session.scalar(select(Received.id).where(Received.ref == ref)) is not None:
            continue
        try:
            take(session, settings, now, ref, item, locate, cal)
            taken += 1
        except (AppError, ValueError, TypeError) as exc:
            session.rollback()
            state = session.get(Uplink, 1)
            if state is not None:
                state.last_error, state.last_error_at = f"assignment {ref}: {exc}"[:500], now
                session.commit()
            log.warning("assignment %s refused: %s", ref, exc)
    return taken


def take(session: Session, settings: Settings, now: datetime, ref: str, item: dict[str, Any],
         locate: Locate, cal: WorkCalendar) -> None:
    """Open the local case for one assignment (same transaction: the case, its channel row, the Received row)."""
    from cityloop.channels import gazetteer, service
    from cityloop.exchange.schemas import AssignmentIn as Shape

    body = Shape.model_validate({k: v for k, v in item.items() if k in Shape.model_fields} | {"platform": "up"})
    lon, lat = body.lon, body.lat
    if lon is None or lat is None:
        found = gazetteer.best_point(session, body.address or "")
        if found is None:
            raise Invalid("address-not-found", f"无法定位地址：{body.address}", f"Cannot place {body.address}")
        lon, lat = found[0], found[1]
    by = str(item.get("assigned_by") or "上级平台")[:100]
    report = ReportIn(category_code=body.category_code, lon=lon, lat=lat, coord_sys="wgs84",
                      description=body.description, address=body.address, source="assigned", reporter_name=by)
    ctx = Ctx(session, settings, cal, now, service.channel_actor("assigned"))
    service.submit(ctx, report, locate, f"exchange:{ref}", verify=False, required_due_at=body.required_due_at,
                   channel={"channel": "assigned", "external_ref": ref[:128]},
                   payload={"exchange_ref": ref, "assigned_by": by,
                            "required_due_at": body.required_due_at.isoformat()},
                   also=lambda writes, case: writes.add(Received(ref=ref, case_id=case.id, received_at=now)))
