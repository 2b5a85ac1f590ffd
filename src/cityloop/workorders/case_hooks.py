"""Case events of cases that came from a 12345 工单 become outbox messages, in the same transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from cityloop.cases.api import ACTION_NAMES, STAGES, CaseEvents, Case, CaseEvent
from cityloop.workorders.domain import message_kind
from cityloop.workorders.models import WorkOrder
from cityloop.workorders.service import message
from cityloop.config import Settings
from sqlalchemy.orm import Session


def _last_payload(session: Session, case_id: int, action: str) -> dict[str, Any]:
    row = session.scalar(select(CaseEvent.payload).where(CaseEvent.case_id == case_id, CaseEvent.action == action)
                         .order_by(CaseEvent.seq.desc()).limit(1))
    return row or {}


def _extra(session: Session, case: Case, event: dict[str, Any], kind: str) -> dict[str, Any]:
    payload = event.get("payload") or {}
    out = {"case_number": case.number, "action": event["action"],
           "action_name": ACTION_NAMES.get(event["action"], ("", ""))[0], "stage": event["to_stage"],
           "stage_name": STAGES.get(event["to_stage"] or "", ("", ""))[0], "actor": event["actor_name"],
           "note": payload.get("note")}
    if kind == "result":
        out["result"] = _last_payload(session, case.id, "handle").get("result")  # 处置结果; the closing note is "note"
    elif kind == "callback":
        close = _last_payload(session, case.id, "close").get("callback") or {}
        out.update(satisfaction=payload.get("rating"), via=payload.get("via"),
                   callback_result=payload.get("result") or close.get("result"))
    elif kind == "return":
        out["reason"] = payload.get("note")
    return out


def on_case_events(session: Session, settings: Settings, items: CaseEvents) -> None:
    """Queue a message for each event of a 工单's case that the 12345 platform hears of (see domain.message_kind)."""
    wanted = [(c, e, k) for c, e in items if (k := message_kind(e["action"], e["from_stage"], e["to_stage"]))]
    if not wanted:
        return
    ids = {c.id for c, _, _ in wanted}
    orders = {o.case_id: o for o in session.scalars(select(WorkOrder).where(WorkOrder.case_id.in_(ids)))}
    for case, event, kind in wanted:
        order = orders.get(case.id)
        if order is None:
            continue
        key = f"{order.external_no}:{case.number}:{event['seq']}"
        session.add(message(order, kind, key, event["at"], _extra(session, case, event, kind)))
        if kind == "return":
            order.status, order.return_reason = "returned", (event.get("payload") or {}).get("note")
