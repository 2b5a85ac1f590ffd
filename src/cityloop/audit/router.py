"""The administrative change log for administrators."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from sqlalchemy import select

from cityloop.audit.models import AuditEntry
from cityloop.deps import AdminDep, SessionDep

router = APIRouter(prefix="/api/v1/audit", tags=["audit 审计"])


@router.get("/log", response_model=None)
def audit_log(session: SessionDep, _: AdminDep,
              action: str | None = Query(None, max_length=64),
              limit: int = Query(200, ge=1, le=1000)) -> list[dict[str, Any]]:
    """管理操作日志 / Who changed users, rules, calendar, catalog and grids, newest first."""
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    return [{"id": e.id, "at": e.at.isoformat(), "actor": e.actor_name, "action": e.action, "target": e.target,
             "details": e.details} for e in session.scalars(stmt)]
