"""The administrative change log (written by every area's admin use cases), the global chain's head and its anchors.

The case event chains and the global chain are sealed and verified in audit.trail (it reads the cases area, which
itself records admin changes through this module).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cityloop.audit.domain import Anchor, anchor_line, parse_anchors
from cityloop.audit.models import AuditChainHead, AuditEntry, AuditHead
from cityloop.org.actor import Actor


def entry_hash(prev: str, at: datetime, actor_id: int | None, actor_name: str, action: str, target: str,
               details: dict[str, Any]) -> str:
    """SHA-256 of an audit entry chained to the previous one."""
    doc = {"prev": prev, "at": at.astimezone(timezone.utc).isoformat(timespec="microseconds"), "actor_id": actor_id,
           "actor": actor_name, "action": action, "target": target, "details": details}
    return hashlib.sha256(json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()).hexdigest()


def record(session: Session, actor: Actor, action: str, target: str, details: dict[str, Any], now: datetime) -> AuditEntry:
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


def chain_head(session: Session) -> tuple[int, str]:
    """The global chain's (length, MAC)."""
    head = session.get(AuditChainHead, 1)
    return (head.seq, head.mac) if head else (0, "")


def write_anchor(path: Path, seq: int, mac: str, now: datetime) -> None:
    """Append the chain head to the anchor file (created 0600; existing lines are never rewritten)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, anchor_line(seq, mac, now).encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def read_anchors(path: Path | None) -> tuple[list[Anchor], list[Problem]]:
    """The anchors in the anchor file; unreadable lines are problems."""
    if path is None or not path.exists():
        return [], []
    anchors, bad = parse_anchors(path.read_text(encoding="utf-8", errors="replace"))
    return anchors, [Problem(f"{path}:{n}", "锚点行无法解析 / the anchor line is unreadable") for n in bad]
