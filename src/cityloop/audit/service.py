"""Write and verify the audit trails: administrative changes, and the per-case event chains."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cityloop.audit.models import AuditEntry, AuditHead
from cityloop.cases.domain import event_hash
from cityloop.cases.models import Case, CaseEvent
from cityloop.deps import Actor


def entry_hash(prev: str, at: datetime, actor_id: int | None, actor_name: str, action: str, target: str,
               details: dict) -> str:
    """SHA-256 of an audit entry chained to the previous one."""
    doc = {"prev": prev, "at": at.astimezone(timezone.utc).isoformat(timespec="microseconds"), "actor_id": actor_id,
           "actor": actor_name, "action": action, "target": target, "details": details}
    return hashlib.sha256(json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()).hexdigest()


def record(session: Session, actor: Actor, action: str, target: str, details: dict, now: datetime) -> AuditEntry:
    """Append an administrative change to the log (the caller's transaction commits it)."""
    head = session.scalar(select(AuditHead).where(AuditHead.id == 1).with_for_update())
    prev = head.hash if head else ""
    digest = entry_hash(prev, now, actor.id, actor.display_name, action, target, details)
    entry = AuditEntry(at=now, actor_id=actor.id, actor_name=actor.display_name, action=action, target=target,
                       details=details, prev_hash=prev, hash=digest)
    session.add(entry)
    if head is None:
        session.add(AuditHead(id=1, hash=digest, entries=1))
    else:
        session.execute(update(AuditHead).where(AuditHead.id == 1).values(hash=digest, entries=AuditHead.entries + 1))
    return entry


@dataclass(frozen=True)
class Problem:
    """Something that does not match its hash chain."""

    where: str
    what: str


def verify_admin_log(session: Session) -> list[Problem]:
    """Recompute the administrative log's chain; report edited, deleted or inserted entries."""
    problems, prev, count = [], "", 0
    for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id)):
        count += 1
        if e.prev_hash != prev:
            problems.append(Problem(f"audit_log#{e.id}", "链接断开：前一条记录被删除或修改 / chain broken before this entry"))
        if entry_hash(e.prev_hash, e.at, e.actor_id, e.actor_name, e.action, e.target, e.details) != e.hash:
            problems.append(Problem(f"audit_log#{e.id}", "内容与哈希不符 / entry edited"))
        prev = e.hash
    head = session.get(AuditHead, 1)
    if (head.hash if head else "") != prev or (head.entries if head else 0) != count:
        problems.append(Problem("audit_log", "最新记录缺失 / the newest entries are missing"))
    return problems


def verify_case_events(session: Session, batch: int = 5000) -> tuple[int, list[Problem]]:
    """Recompute every case's event chain; returns (events checked, problems)."""
    problems: list[Problem] = []
    checked, last_case = 0, 0
    while True:
        cases = list(session.execute(select(Case.id, Case.number, Case.event_hash, Case.event_count)
                                     .where(Case.id > last_case).order_by(Case.id).limit(batch)))
        if not cases:
            return checked, problems
        events: dict[int, list[CaseEvent]] = {}
        for e in session.scalars(select(CaseEvent).where(CaseEvent.case_id.in_([c.id for c in cases]))
                                 .order_by(CaseEvent.case_id, CaseEvent.seq)):
            events.setdefault(e.case_id, []).append(e)
        for case_id, number, head, count in cases:
            checked += len(events.get(case_id, []))
            problems += _check_case(number, head, count, events.get(case_id, []))
        last_case = cases[-1].id


def _check_case(number: str, head: str, count: int, events: list[CaseEvent]) -> list[Problem]:
    problems, prev = [], ""
    for expected_seq, e in enumerate(events, 1):
        where = f"{number}#{e.seq}"
        if e.seq != expected_seq:
            problems.append(Problem(where, f"缺少第 {expected_seq} 条记录 / event {expected_seq} is missing"))
        if e.prev_hash != prev:
            problems.append(Problem(where, "链接断开 / chain broken before this event"))
        digest = event_hash(e.prev_hash, number, e.seq, e.action, e.actor_id, e.actor_name, e.actor_role, e.at,
                            e.from_stage, e.to_stage, e.payload or {})
        if digest != e.hash:
            problems.append(Problem(where, "内容与哈希不符 / event edited"))
        prev = e.hash
    if head != prev or count != len(events):
        problems.append(Problem(number, "最新记录缺失或被删除 / the newest events are missing"))
    return problems
