"""City side: apply one county batch in one transaction — per-case order, duplicates skipped, gaps parked."""

from __future__ import annotations

from typing import Any, cast

import hashlib
from datetime import datetime

from sqlalchemy import Table, bindparam, select
from sqlalchemy.orm import Session
from pydantic import ValidationError

from cityloop.exchange.domain import RESULT_ACTIONS, event_id, place
from cityloop.exchange.models import Assignment, Batch, Link, MirrorCase, MirrorEvent, Monthly, Parked, Record
from cityloop.exchange.schemas import RECORD_DATA, BatchIn, ComponentData, EventIn
from cityloop.shared.errors import Conflict, Invalid


def content_digest(batch: BatchIn) -> str:
    """What makes two sends the same batch: its event ids in order."""
    return hashlib.sha256("\n".join(e.event_id for e in batch.events).encode()).hexdigest()


def link_of(session: Session, platform: str) -> Link:
    """The platform's link row, created on first contact."""
    link = session.scalar(select(Link).where(Link.platform == platform))
    if link is None:
        link = Link(platform=platform, last_outbox_id=0, batches=0, events=0, errors=0)
        session.add(link)
        session.flush()
    return link


def check_events(platform: str, events: list[EventIn]) -> None:
    """Refuse the whole batch (422, nothing applied) when one message is malformed."""
    seen: set[str] = set()
    for i, e in enumerate(events):
        problem = None
        if e.event_id in seen:
            problem = "duplicate event_id in batch"
        elif e.kind == "case.event":
            if e.case is None or e.seq is None or not e.action or not e.to_stage:
                problem = "case.event needs case, seq, action and to_stage"
            elif e.event_id != event_id(platform, e.case.id, e.seq):
                problem = f"event_id must be {event_id(platform, e.case.id, e.seq)}"
            elif e.prev_seq is not None and e.prev_seq >= e.seq:
                problem = "prev_seq must be before seq"
        elif not e.key:
            problem = f"{e.kind} needs key"
        elif e.kind == "assessment.monthly" and not _is_month(e.key):
            problem = "assessment.monthly key must be YYYY-MM"
        elif e.kind in RECORD_DATA:
            problem = _data_problem(e)
        if problem:
            raise Invalid("malformed-event", f"第 {i} 条消息格式错误：{problem}",
                          f"Event {i} ({e.event_id}) is malformed: {problem}", index=i, event_id=e.event_id)
        seen.add(e.event_id)


def _data_problem(e: EventIn) -> str | None:
    """What is wrong with a record's data (None: fine); a component's key must be its id."""
    try:
        data = RECORD_DATA[e.kind].model_validate(e.data)
    except ValidationError as exc:
        first = exc.errors()[0]
        return f"data.{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
    if isinstance(data, ComponentData) and data.id != e.key:  # component.change
        return "component.change key must be the component id"
    return None


def _is_month(key: str) -> bool:
    return len(key) == 7 and key[4] == "-" and key[:4].isdigit() and key[5:].isdigit() and 1 <= int(key[5:]) <= 12


def pending_assignments(session: Session, platform: str, now: datetime) -> list[dict[str, Any]]:
    """Assignments the county has not taken up yet (sent on every answer until its case event comes up)."""
    rows = session.scalars(select(Assignment).where(Assignment.platform == platform,
                                                    Assignment.accepted_at.is_(None)).order_by(Assignment.id)
                           .limit(50)).all()
    for row in rows:
        row.delivered_at = row.delivered_at or now
    return [{"ref": r.ref, **r.body} for r in rows]


def apply_batch(session: Session, platform: str, batch: BatchIn, now: datetime) -> dict[str, Any]:
    """Apply a verified batch (no commit); returns the answer, the same for a replay."""
    if batch.platform != platform:
        raise Invalid("platform-mismatch", "批次中的平台编码与签名不符", "The batch's platform differs from the signer")
    link = link_of(session, platform)
    digest = content_digest(batch)
    done = session.scalar(select(Batch).where(Batch.platform == platform, Batch.batch_id == batch.batch_id))
    if done is not None:
        if done.digest != digest:
            raise Conflict("batch-conflict", f"批次 {batch.batch_id} 已以不同内容接收",
                           f"Batch {batch.batch_id} was received with other content")
        return {**done.result, "replay": True}
    if batch.events and batch.last_id <= link.last_outbox_id:
        raise Conflict("stale-batch", f"批次 {batch.batch_id} 早于已接收的发件箱编号 {link.last_outbox_id}",
                       f"Batch {batch.batch_id} is older than outbox id {link.last_outbox_id} already taken",
                       acked_through=link.last_outbox_id)
    check_events(platform, batch.events)
    result = _apply_events(session, platform, batch.events, now)
    link.last_batch_at, link.last_batch_id = now, batch.batch_id
    link.last_outbox_id = max(link.last_outbox_id, batch.last_id)
    link.batches += 1
    link.events += result["applied"]
    created = [e.created_at for e in batch.events if e.created_at is not None]
    if created:
        link.lag_seconds = round((now - max(created)).total_seconds(), 3)
    answer = {"batch_id": batch.batch_id, "acked_through": link.last_outbox_id, "replay": False, **result}
    if batch.events:
        session.add(Batch(platform=platform, batch_id=batch.batch_id, digest=digest, result=answer, received_at=now))
    return answer


MIRRORED = ("number", "category_code", "source", "stage", "address", "lon", "lat", "district_code", "closed_at",
            "required_due_at")


def _apply_events(session: Session, platform: str, events: list[EventIn], now: datetime) -> dict[str, Any]:
    # Mirrors are folded in memory (one row of state per case) and written once per batch: a batch of 500 events
    # touches ~70 cases, and per-event ORM updates were most of the receiver's time.
    # No per-event re-reads: an applied case event has seq <= its mirror's last_seq and a parked one is among its
    # case's parked rows, so only events at or below a mirror's last seq (and records) are looked up by id.
    case_ids = {e.case.id for e in events if e.case is not None}
    table = cast(Table, MirrorCase.__table__)
    state: dict[int, dict[str, Any]] = {}
    parked: dict[int, list[Parked]] = {}
    known: set[str] = set()
    if case_ids:
        for hit in session.execute(select(table.c.id, table.c.remote_id, table.c.last_seq, table.c.assignment_ref)
                                   .where(table.c.platform == platform, table.c.remote_id.in_(case_ids))):
            state[hit.remote_id] = {"id": hit.id, "last_seq": hit.last_seq, "assignment_ref": hit.assignment_ref}
        for waiting in session.scalars(select(Parked).where(Parked.platform == platform,
                                                            Parked.remote_case_id.in_(case_ids))):
            parked.setdefault(waiting.remote_case_id, []).append(waiting)
            known.add(waiting.event_id)
    maybe = [e.event_id for e in events if e.case is None
             or (e.case.id in state and e.seq is not None and e.seq <= state[e.case.id]["last_seq"])]
    if maybe:
        known |= set(session.scalars(select(MirrorEvent.event_id).where(MirrorEvent.platform == platform,
                                                                        MirrorEvent.event_id.in_(maybe))))
    rows: list[tuple[int | None, EventIn]] = []
    out: dict[str, Any] = {"applied": 0, "duplicates": 0, "parked": []}

    def take(e: EventIn) -> None:
        snap = e.case
        assert snap is not None  # check_events: a case event has its case
        current = state.setdefault(snap.id, {"id": None, "last_seq": None, "assignment_ref": None,
                                             "reported_at": snap.created_at, "description": snap.description or ""})
        _advance(session, platform, current, e)
        rows.append((snap.id, e))
        known.add(e.event_id)
        out["applied"] += 1
        for row in sorted(parked.get(snap.id, []), key=lambda r: r.seq):  # a filled gap frees what waited
            if row.body.get("prev_seq") == current["last_seq"]:
                parked[snap.id].remove(row)
                session.delete(row)
                take(EventIn.model_validate(row.body))

    for e in events:
        if e.kind != "case.event":
            if e.event_id in known:
                out["duplicates"] += 1
                continue
            rows.append((None, e))
            known.add(e.event_id)
            out["applied"] += 1
            if e.kind == "assessment.monthly":
                _monthly(session, platform, e, now)
            else:
                _record(session, platform, e, now)
            continue
        snap, seq = e.case, e.seq
        assert snap is not None and seq is not None  # check_events: a case event has its case and seq
        current = state.get(snap.id)
        verdict = place(current["last_seq"] if current else None, seq, e.prev_seq, e.event_id in known)
        if verdict.verdict == "duplicate":
            out["duplicates"] += 1
        elif verdict.verdict == "apply":
            take(e)
        else:
            row = Parked(platform=platform, event_id=e.event_id, remote_case_id=snap.id, seq=seq,
                         reason=verdict.reason, body=e.model_dump(mode="json"), parked_at=now)
            session.add(row)
            parked.setdefault(snap.id, []).append(row)
            known.add(e.event_id)
            out["parked"].append({"event_id": e.event_id, "reason": verdict.reason})
    _write_mirrors(session, platform, state)
    if rows:
        session.execute(cast(Table, MirrorEvent.__table__).insert(), [
            {"platform": platform, "event_id": e.event_id, "kind": e.kind,
             "mirror_case_id": state[c]["id"] if c is not None else None, "seq": e.seq, "action": e.action,
             "actor_role": e.actor_role, "at": e.at, "from_stage": e.from_stage, "to_stage": e.to_stage,
             "body": e.model_dump(mode="json", exclude_none=True), "received_at": now} for c, e in rows])
    return out


def _write_mirrors(session: Session, platform: str, state: dict[int, dict[str, Any]]) -> None:
    table = cast(Table, MirrorCase.__table__)
    changed = [(remote_id, s) for remote_id, s in state.items() if "values" in s]
    new = [(remote_id, s) for remote_id, s in changed if s["id"] is None]
    if new:
        inserted = session.execute(table.insert().returning(table.c.id, table.c.remote_id), [
            {"platform": platform, "remote_id": remote_id, "reported_at": s["reported_at"],
             "description": s["description"], "assignment_ref": None, "result": None, **s["values"]}
            for remote_id, s in new]).all()
        for row in inserted:
            state[row.remote_id]["id"] = row.id
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}  # executemany needs one set of columns per statement
    for _, s in changed:
        if s.get("inserted") or any(s is n for _, n in new):
            continue
        groups.setdefault(tuple(sorted(s["values"])), []).append({"_id": s["id"], **s["values"]})
    for params in groups.values():
        session.execute(table.update().where(table.c.id == bindparam("_id")), params)


def _advance(session: Session, platform: str, current: dict[str, Any], e: EventIn) -> None:
    snap = e.case
    assert snap is not None  # check_events: a case event has its case
    values = current.setdefault("values", {})
    for field in MIRRORED:
        values[field] = getattr(snap, field)
    values["overdue"] = bool(snap.overdue)
    values["rework_count"] = snap.rework_count or 0
    values["last_seq"] = current["last_seq"] = e.seq
    values["last_at"] = e.at
    ref = e.payload.get("exchange_ref")
    if ref and isinstance(ref, str) and current["assignment_ref"] is None:
        current["assignment_ref"] = values["assignment_ref"] = ref
        assignment = session.scalar(select(Assignment).where(Assignment.ref == ref, Assignment.platform == platform))
        if assignment is not None and assignment.accepted_at is None:
            assignment.accepted_at = e.at
    if e.action in RESULT_ACTIONS:
        values["result"] = {"action": e.action, "at": e.at.isoformat(), "actor_role": e.actor_role,
                            "note": e.payload.get("note"), "photos": [p.sha256 for p in e.photos]}


def _monthly(session: Session, platform: str, e: EventIn, now: datetime) -> None:
    row = session.scalar(select(Monthly).where(Monthly.platform == platform, Monthly.month == e.key))
    if row is None:
        session.add(Monthly(platform=platform, month=e.key, figures=e.data, received_at=now))
    else:
        row.figures, row.received_at = e.data, now


def _record(session: Session, platform: str, e: EventIn, now: datetime) -> None:
    """Keep the newest state per (platform, kind, key): a component's census row, an alarm's summary."""
    row = session.scalar(select(Record).where(Record.platform == platform, Record.kind == e.kind, Record.key == e.key))
    if row is None:
        session.add(Record(platform=platform, kind=e.kind, key=e.key, event_id=e.event_id, at=e.at, data=e.data,
                           changes=1, received_at=now))
        session.flush()
        return
    row.changes += 1
    if e.at >= row.at:
        row.event_id, row.at, row.data, row.received_at = e.event_id, e.at, e.data, now
