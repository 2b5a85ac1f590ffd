"""申诉: a company contests a violation with text and files before the deadline; a reviewer upholds or cancels
the violation. Both leave a note on the violation's case, so the enforcement department sees the outcome.

Files: images go through the platform's photo store (validated, content-addressed); PDFs are checked by their
signature and size and stored content-addressed under media_dir/fleet/. Files are written only once the appeal
was accepted and committed."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.cases import api as cases_api
from cityloop.cases.api import decode, photo_path, save, screen, write_once
from cityloop.config import Settings
from cityloop.org.actor import Actor
from cityloop.fleet import access, domain
from cityloop.fleet.models import Appeal, Violation
from cityloop.shared.errors import Conflict, Forbidden, Invalid, NotFound, TooLarge, UnsupportedMedia
from cityloop.sla.domain import WorkCalendar
from cityloop.notify import hooks as notify_hooks

MAX_FILES = 6


def check_file(settings: Settings, data: bytes, name: str) -> tuple[dict[str, Any], Callable[[], None]]:
    """Validate one attachment (JPEG/PNG/WebP or PDF): its record, and how to write it once the appeal is kept."""
    if len(data) > settings.max_upload_bytes:
        raise TooLarge("file-too-large", f"文件 {name} 超过 {settings.max_upload_bytes // 1024 // 1024} MB",
                       f"{name} is larger than {settings.max_upload_bytes} bytes")
    if data[:5] == b"%PDF-":
        sha = hashlib.sha256(data).hexdigest()
        record = {"sha256": sha, "name": name[:100], "content_type": "application/pdf", "size": len(data)}
        return record, lambda: write_once(pdf_path(settings, sha), data)
    try:
        photo = screen(settings, data, name)
        decode(settings, [photo])
    except UnsupportedMedia as exc:
        raise UnsupportedMedia("bad-attachment", f"文件 {name} 不是图片或 PDF", f"{name} is not an image or a PDF") from exc
    record = {"sha256": photo.sha256, "name": name[:100], "content_type": photo.content_type, "size": photo.size_bytes}
    return record, lambda: save(settings, [photo])


def pdf_path(settings: Settings, sha: str) -> Path:
    return Path(settings.media_dir) / "fleet" / sha[:2] / f"{sha}.pdf"


def file_path(settings: Settings, record: dict[str, Any]) -> Path:
    """Where an attachment lives."""
    if record["content_type"] == "application/pdf":
        return pdf_path(settings, record["sha256"])
    return photo_path(settings, record["sha256"])


def submit(session: Session, settings: Settings, cal: WorkCalendar, actor: Actor, violation_id: int, text: str,
           files: list[tuple[str, bytes]], now: datetime) -> Appeal:
    """A company user appeals one of its company's violations (once, before the deadline)."""
    company = access.company_of(session, actor)
    if company is None:
        raise Forbidden("company-only", "只有运输企业用户可以申诉", "Only transport company users may appeal")
    v = session.get(Violation, violation_id)
    if v is None or v.company_id != company:
        raise NotFound("violation-not-found", "违规记录不存在", "Violation not found")
    if session.scalar(select(Appeal.id).where(Appeal.violation_id == v.id)) is not None:
        raise Conflict("already-appealed", "该违规已申诉过", "This violation was already appealed")
    status = domain.effective_status(v.status, v.appeal_due_at, now)
    if status != "open":
        raise Conflict("appeal-closed", "已超过申诉期限或已处理，不能申诉",
                       "The appeal deadline has passed or the violation was decided")
    if not text.strip():
        raise Invalid("appeal-text-required", "请填写申诉理由", "Give the reason for the appeal")
    if len(files) > MAX_FILES:
        raise Invalid("too-many-files", f"最多上传 {MAX_FILES} 个文件", f"At most {MAX_FILES} files")
    checked = [check_file(settings, data, name) for name, data in files]
    records = [record for record, _ in checked]
    appeal = Appeal(violation_id=v.id, company_id=company, text=text.strip(), files=records, submitted_by=actor.id,
                    submitted_at=now)
    session.add(appeal)
    v.status = "appealed"
    if v.case_id is not None:
        cases_api.note(session, settings, cal, now, v.case_id, f"运输企业提出申诉：{text.strip()[:500]}",
                        {"fleet_appeal": {"violation_id": v.id, "files": len(records)}})
    session.commit()
    for _, write in checked:
        write()
    return appeal


def decide(session: Session, settings: Settings, cal: WorkCalendar, actor: Actor, violation_id: int, decision: str,
           note: str | None, now: datetime) -> Appeal:
    """A reviewer upholds or cancels an appealed violation."""
    access.require_reviewer(session, settings, actor)
    v = session.get(Violation, violation_id)
    appeal = session.scalar(select(Appeal).where(Appeal.violation_id == violation_id)) if v else None
    if appeal is None or v is None:  # no violation, no appeal
        raise NotFound("appeal-not-found", "该违规没有申诉", "This violation has no appeal")
    if appeal.decision is not None:
        raise Conflict("appeal-decided", "该申诉已复核", "The appeal was already decided")
    if decision == "cancelled" and not (note or "").strip():
        raise Invalid("note-required", "撤销违规须说明理由", "Cancelling a violation needs a reason")
    appeal.decision, appeal.decision_note, appeal.decided_by, appeal.decided_at = decision, note, actor.id, now
    v.status = decision
    if v.case_id is not None:
        record = cases_api.note if decision == "upheld" else cases_api.withdraw  # cancelled: the case is void
        verdict = "维持违规认定" if decision == "upheld" else "申诉成立，撤销违规认定"
        record(session, settings, cal, now, v.case_id, f"申诉复核：{verdict}。{(note or '').strip()[:500]}",
               {"fleet_appeal_decision": decision})
    notify_hooks.appeal_decided(session, v, appeal, now)
    session.commit()
    return appeal
