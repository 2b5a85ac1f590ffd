"""Case events become notifications in the case's own transaction: a dispatch tells the department's subscribed
users, 返工 (check_fail), 督办 and request decisions tell the department handling the case, the sweep's automatic
督办 (auto_supervise) is the overdue notice (once per case node)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from cityloop.cases.api import NODES
from cityloop.catalog.models import Category
from cityloop.notify.service import Recipients, publish
from cityloop.org.models import Department
from cityloop.config import Settings
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from cityloop.cases.api import Case

TZ = ZoneInfo("Asia/Shanghai")
NODE_NAMES: dict[str, str] = {str(node): zh for node, (zh, _) in NODES.items()}  # 环节 names by code
REQUESTS = {"return": "回退", "extension": "延期", "suspension": "挂账"}


def kind_of(action: str, payload: dict[str, Any]) -> str | None:
    """The notification kind of a case action, or None when nobody is told."""
    if action == "approve":
        return "request_approved"
    if action == "deny":
        return "request_denied"
    return {"dispatch": "dispatched", "check_fail": "rework", "supervise": "supervised",
            "auto_supervise": "overdue"}.get(action)


def case_params(session: Session, case: Case, note: str | None = None, actor: str | None = None) -> dict[str, Any]:
    """The template variables of a case."""
    dept = session.get(Department, case.department_id) if case.department_id else None
    category = session.get(Category, case.category_id)
    due = case.node_due_at.astimezone(TZ).strftime("%m-%d %H:%M") if case.node_due_at else ""
    return {"case_number": case.number, "category": category.name if category else case.category_code,
            "address": case.address or "", "department": dept.name if dept else "", "stage": case.stage,
            "node": NODE_NAMES.get(case.node or "", ""), "due_at": due, "note": note or "", "actor": actor or ""}


def on_case_events(session: Session, settings: Settings, items: list[tuple[Case, dict[str, Any]]]) -> None:
    """Add the notifications of these case events to the session (no commit)."""
    for case, event in items:
        payload: dict[str, Any] = event.get("payload") or {}
        kind = kind_of(event["action"], payload)
        if kind is None or case.department_id is None:
            continue
        params = case_params(session, case, payload.get("note") or payload.get("reason"), event.get("actor_name"))
        params["request"] = REQUESTS.get(payload.get("request") or "", payload.get("request") or "")
        params["urgent"] = case.urgent
        key = (f"overdue:{case.id}:{case.node}:{case.node_started_at.isoformat()}"
               if kind == "overdue" and case.node_started_at else f"case:{case.id}:{event['seq']}")
        publish(session, kind, params, Recipients(departments=[case.department_id], roles=["department"]),
                event_key=key, link=f"/console/cases/{case.id}", now=event.get("at"))
