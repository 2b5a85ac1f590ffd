"""Read models of the exchange: link health, mirrored cases with their events, the county's uplink."""

from __future__ import annotations

from typing import Any

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityloop.exchange.case_hooks import platform_code
from cityloop.exchange.models import Link, MirrorCase, MirrorEvent, OutboxRow, Parked, Record, Uplink
from cityloop.shared.errors import NotFound
from cityloop.config import Settings


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def links(session: Session, settings: Settings, now: datetime) -> list[dict[str, Any]]:
    """Every linked platform (configured or seen): last batch, its age, lag, errors, cases, parked events."""
    rows = {link.platform: link for link in session.scalars(select(Link))}
    counts = dict(session.execute(select(MirrorCase.platform, func.count()).group_by(MirrorCase.platform)).all())
    open_counts = dict(session.execute(select(MirrorCase.platform, func.count()).where(
        MirrorCase.closed_at.is_(None)).group_by(MirrorCase.platform)).all())
    parked = dict(session.execute(select(Parked.platform, func.count()).group_by(Parked.platform)).all())
    out = []
    for platform in sorted(set(settings.exchange_downstream) | set(rows)):
        link = rows.get(platform)
        age = (now - link.last_batch_at).total_seconds() if link and link.last_batch_at else None
        out.append({
            "platform": platform, "configured": platform in settings.exchange_downstream,
            "last_batch_at": _iso(link.last_batch_at) if link else None, "last_batch_id": link.last_batch_id if link else None,
            "seconds_since_batch": round(age, 1) if age is not None else None,
            "lag_seconds": link.lag_seconds if link else None, "batches": link.batches if link else 0,
            "events": link.events if link else 0, "errors": link.errors if link else 0,
            "last_error": link.last_error if link else None, "last_error_at": _iso(link.last_error_at) if link else None,
            "cases": counts.get(platform, 0), "open_cases": open_counts.get(platform, 0),
            "parked": parked.get(platform, 0),
            "health": _health(age, link)})
    return out


def _health(age: float | None, link: Link | None) -> str:
    if link is None or age is None:
        return "never"
    if link.last_error_at and link.last_batch_at and link.last_error_at > link.last_batch_at:
        return "failing"
    return "ok" if age <= 120 else "silent"


def case_row(c: MirrorCase) -> dict[str, Any]:
    """A mirrored case as JSON."""
    return {"platform": c.platform, "number": c.number, "remote_id": c.remote_id, "category_code": c.category_code,
            "source": c.source, "stage": c.stage, "address": c.address, "lon": c.lon, "lat": c.lat,
            "description": c.description, "reported_at": _iso(c.reported_at), "closed_at": _iso(c.closed_at),
            "required_due_at": _iso(c.required_due_at), "overdue": c.overdue, "last_seq": c.last_seq,
            "last_at": _iso(c.last_at), "assignment_ref": c.assignment_ref, "result": c.result}


def cases(session: Session, platform: str | None, stage: str | None, limit: int) -> list[dict[str, Any]]:
    """Mirrored cases, newest activity first."""
    stmt = select(MirrorCase).order_by(MirrorCase.last_at.desc(), MirrorCase.id.desc()).limit(limit)
    if platform:
        stmt = stmt.where(MirrorCase.platform == platform)
    if stage:
        stmt = stmt.where(MirrorCase.stage == stage)
    return [case_row(c) for c in session.scalars(stmt)]


def case_detail(session: Session, platform: str, number: str) -> dict[str, Any]:
    """One mirrored case and its events in seq order."""
    c = session.scalar(select(MirrorCase).where(MirrorCase.platform == platform, MirrorCase.number == number))
    if c is None:
        raise NotFound("case-not-found", f"案件 {number} 不存在", f"Case {number} not found")
    events = session.scalars(select(MirrorEvent).where(MirrorEvent.mirror_case_id == c.id).order_by(MirrorEvent.seq))
    return {**case_row(c), "events": [
        {"seq": e.seq, "action": e.action, "actor_role": e.actor_role, "at": _iso(e.at), "from_stage": e.from_stage,
         "to_stage": e.to_stage, "photos": [p["sha256"] for p in e.body.get("photos", [])]} for e in events]}


def uplink(session: Session, settings: Settings, now: datetime) -> dict[str, Any]:
    """The county's view: configured upstream, pending events, the oldest one's age, last success and error."""
    state = session.get(Uplink, 1)
    pending = session.scalar(select(func.count()).select_from(OutboxRow).where(OutboxRow.acked_at.is_(None)))
    oldest = session.scalar(select(func.min(OutboxRow.created_at)).where(OutboxRow.acked_at.is_(None)))
    return {"upstream": settings.exchange_upstream_url, "platform": platform_code(settings), "pending": pending or 0,
            "oldest_pending_seconds": round((now - oldest).total_seconds(), 1) if oldest else None,
            "last_ok_at": _iso(state.last_ok_at) if state else None,
            "last_error": state.last_error if state else None,
            "last_error_at": _iso(state.last_error_at) if state else None,
            "next_try_at": _iso(state.next_try_at) if state else None,
            "attempts": state.attempts if state else 0, "sent_events": state.sent_events if state else 0}


def records(session: Session, kind: str, platform: str | None, limit: int) -> list[dict[str, Any]]:
    """The newest component census rows or alarm summaries of linked platforms, latest first."""
    stmt = select(Record).where(Record.kind == kind).order_by(Record.at.desc(), Record.id.desc()).limit(limit)
    if platform:
        stmt = stmt.where(Record.platform == platform)
    return [{"platform": r.platform, "kind": r.kind, "key": r.key, "event_id": r.event_id, "at": _iso(r.at),
             "changes": r.changes, "received_at": _iso(r.received_at), "data": r.data} for r in session.scalars(stmt)]
