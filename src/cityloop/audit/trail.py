"""The tamper-evident trail of the cases: the per-case event chains and the global chain.

Case events are MACed when written (cases.service.record, cases.intake.write) together with the case's state
after them. A sealer (audit.tasks, every few seconds, and every `audit verify`) then links every new event and
admin entry into one global keyed chain, and `audit anchor` copies its head to a file outside the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import CompoundSelect, RowMapping, literal, null, select, union_all, update
from sqlalchemy.orm import Session

from cityloop.audit.domain import Anchor, chain_mac
from cityloop.audit.models import AuditChainHead, AuditEntry
from cityloop.audit.service import Problem, chain_head, read_anchors, verify_admin_log
from cityloop.cases.api import LATE_STATE_FIELDS, STATE_FIELDS, event_mac, state_digest, Case, CaseEvent


def verify_case_events(session: Session, key: bytes, batch: int = 5000) -> tuple[int, list[Problem]]:
    """Check every case's events against their MACs and the case row against its newest event; returns
    (events checked, problems)."""
    problems: list[Problem] = []
    checked, forged, last_case = 0, 0, 0
    columns = [Case.id, Case.number, Case.event_hash, *(getattr(Case, f) for f in STATE_FIELDS + LATE_STATE_FIELDS)]
    while True:
        cases = list(session.execute(select(*columns).where(Case.id > last_case).order_by(Case.id).limit(batch)))
        if not cases:
            break
        events: dict[int, list[CaseEvent]] = {}
        for e in session.scalars(select(CaseEvent).where(CaseEvent.case_id.in_([c.id for c in cases]))
                                 .order_by(CaseEvent.case_id, CaseEvent.seq)):
            events.setdefault(e.case_id, []).append(e)
        for row in cases:
            mine = events.get(row.id, [])
            checked += len(mine)
            found = _check_case(key, row._mapping, mine)
            forged += sum(1 for p in found if p.what == EDITED)
            problems += found
        last_case = cases[-1].id
    if checked and forged == checked:
        problems.insert(0, Problem("audit key", "所有案件记录的 MAC 都不符：审计密钥不是写入时的密钥 / every event MAC "
                                                "fails: CITYLOOP_AUDIT_KEY is not the key this history was written with"))
    return checked, problems


EDITED = "内容与 MAC 不符（被修改或伪造）/ event edited or forged (MAC mismatch)"


def _check_case(key: bytes, row: RowMapping, events: list[CaseEvent]) -> list[Problem]:
    number = row["number"]
    problems, prev = [], ""
    for expected_seq, e in enumerate(events, 1):
        where = f"{number}#{e.seq}"
        if e.seq != expected_seq:
            problems.append(Problem(where, f"缺少第 {expected_seq} 条记录 / event {expected_seq} is missing"))
        if e.prev_hash != prev:
            problems.append(Problem(where, "链接断开 / chain broken before this event"))
        digest = event_mac(key, e.prev_hash, number, e.seq, e.action, e.actor_id, e.actor_name, e.actor_role, e.at,
                           e.from_stage, e.to_stage, e.payload or {}, e.state_hash)
        if digest != e.hash:
            problems.append(Problem(where, EDITED))
        prev = e.hash
    if row["event_hash"] != prev or row["event_count"] != len(events):
        problems.append(Problem(number, "最新记录缺失或被删除 / the newest events are missing"))
    elif events and state_digest(row) != events[-1].state_hash:
        problems.append(Problem(number, "案件记录被直接修改（阶段、描述、电话、位置、部门等与其记录不符）/ the case row was "
                                        "edited outside the workflow: it differs from the state its newest event "
                                        "recorded (stage, description, phone, location, department…)"))
    return problems


# --- the global chain -------------------------------------------------------------------------------------------

def seal(session: Session, key: bytes, now: datetime, limit: int = 5000) -> int:
    """Link up to `limit` unsealed admin entries and case events into the global chain (caller commits)."""
    head = session.scalar(select(AuditChainHead).where(AuditChainHead.id == 1).with_for_update())
    seq, mac = (head.seq, head.mac) if head else (0, "")
    sealed = 0
    for model, kind in ((AuditEntry, "admin"), (CaseEvent, "event")):
        rows = session.execute(select(model.id, model.hash).where(model.chain_seq.is_(None))
                               .order_by(model.id).limit(limit - sealed)).all()
        if not rows:
            continue
        updates = []
        for ref_id, row_hash in rows:
            seq += 1
            mac = chain_mac(key, mac, kind, ref_id, row_hash)
            updates.append({"id": ref_id, "chain_seq": seq})
        session.execute(update(model), updates)
        sealed += len(rows)
    if sealed:
        if head is None:
            session.add(AuditChainHead(id=1, seq=seq, mac=mac, sealed_at=now))
        else:
            head.seq, head.mac, head.sealed_at = seq, mac, now
    return sealed


def seal_all(session: Session, key: bytes, now: datetime) -> int:
    """Seal everything unsealed, committing every batch; returns how many entries joined the chain."""
    total = 0
    while (n := seal(session, key, now)):
        session.commit()
        total += n
    session.commit()
    return total


def verify_chain(session: Session, key: bytes, anchors: list[Anchor]) -> tuple[int, list[Problem]]:
    """Walk the global chain: positions must run 1..head without a gap, and its MAC must match the head row and
    every anchor. Returns (sealed entries, problems)."""
    events = (select(CaseEvent.chain_seq.label("pos"), literal("event").label("kind"), CaseEvent.id.label("ref"),
                     CaseEvent.hash.label("hash"), Case.number.label("number"), CaseEvent.seq.label("seq"))
              .outerjoin(Case, Case.id == CaseEvent.case_id).where(CaseEvent.chain_seq.is_not(None)))
    admin = (select(AuditEntry.chain_seq, literal("admin"), AuditEntry.id, AuditEntry.hash, null(), null())
             .where(AuditEntry.chain_seq.is_not(None)))
    stmt: CompoundSelect[*tuple[Any, ...]] = union_all(events, admin).order_by("pos")
    at_anchor: dict[int, list[Anchor]] = {}
    for a in anchors:
        at_anchor.setdefault(a.seq, []).append(a)
    problems: list[Problem] = []
    expected, mac, last_name = 1, "", "the start"
    for row in session.execute(stmt.execution_options(yield_per=10000)):
        name = f"{row.number}#{row.seq}" if row.kind == "event" else f"audit_log#{row.ref}"
        if row.pos < expected:
            problems.append(Problem(f"chain#{row.pos}", f"{name} 与其他记录占用同一链位置 / shares its chain position"))
            continue
        if row.pos > expected:
            problems.append(Problem(f"chain#{expected}", f"{last_name} 与 {name} 之间缺少 {row.pos - expected} 条已封存记录"
                                    f"（案件、案件记录或管理日志被删除）/ {row.pos - expected} sealed entries between "
                                    f"{last_name} and {name} are gone (a case, its events or admin entries deleted)"))
        mac = chain_mac(key, mac, row.kind, row.ref, row.hash)
        for a in at_anchor.get(row.pos, ()):
            if a.mac != mac:
                problems.append(Problem(f"chain#{row.pos}", f"与 {a.at} 的锚点不符：此前的记录被改写、删除或替换 / differs "
                                        f"from the anchor of {a.at}: entries up to {name} were rewritten or removed"))
        expected, last_name = row.pos + 1, name
    sealed = expected - 1
    head_seq, head_mac = chain_head(session)
    if head_seq > sealed:
        problems.append(Problem("chain head", f"链头记录 {head_seq} 条，库中只有 {sealed} 条：最新的记录被删除 / the head counts "
                                              f"{head_seq} sealed entries, {sealed} remain: the newest were deleted"))
    elif (head_seq, head_mac) != (sealed, mac):
        problems.append(Problem("chain head", "全局链与链头不符：记录被改写或链头被篡改（或审计密钥错误）/ the global chain does "
                                              "not match its head: entries rewritten or the head edited (or a wrong key)"))
    for a in anchors:
        if a.seq > sealed:
            problems.append(Problem(f"anchor {a.at}", f"锚点记录 {a.seq} 条，库中只有 {sealed} 条：记录被删除 / the anchor "
                                                      f"counts {a.seq} sealed entries, the database {sealed}: deleted"))
    return sealed, problems


@dataclass(frozen=True)
class Report:
    """What `audit verify` found."""

    events: int
    sealed: int
    anchors: int
    problems: list[Problem]


def verify_all(session: Session, key: bytes, anchor_file: Path | None) -> Report:
    """Every check: case events and rows, the admin log, the global chain against its head and the anchors."""
    anchors, problems = read_anchors(anchor_file)
    checked, found = verify_case_events(session, key)
    problems += found + verify_admin_log(session)
    sealed, found = verify_chain(session, key, anchors)
    return Report(checked, sealed, len(anchors), problems + found)
