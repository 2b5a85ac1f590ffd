"""Use cases of the department app: my department's open cases, its requests, and an idempotent action."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case as when
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cityloop.cases import api as cases_api
from cityloop.cases.api import STAGES, Stage, Case, CaseRequest, get_visible, timing, ActionIn, Ctx
from cityloop.catalog.models import Category
from cityloop.org.actor import Actor
from cityloop.department_app.domain import ACTIONS, MY_STAGES, REQUEST_NAMES, REQUEST_STATUS, time_words
from cityloop.department_app.models import DepartmentActionKey
from cityloop.department_app.schemas import MyCaseOut, RequestOut
from cityloop.shared.errors import Invalid, NotFound
from cityloop.sla.domain import WorkCalendar

MAX_LISTED = 300


def my_cases(session: Session, actor: Actor, now: datetime, cal: WorkCalendar, english: bool) -> list[MyCaseOut]:
    """The open cases of the caller's department, the nearest deadline first (挂账 ones last)."""
    if actor.department_id is None:
        return []
    stmt = (select(Case, Category.name).join(Category, Category.id == Case.category_id)
            .where(Case.department_id == actor.department_id, Case.stage.in_(MY_STAGES))
            .order_by(when((Case.stage == "suspended", 1), else_=0), Case.node_due_at, Case.id).limit(MAX_LISTED))
    out = []
    for case, category_name in session.execute(stmt):
        elapsed, lamp = timing(case, now, cal)
        running = case.stage != "suspended"
        words = time_words(case.node_due_at, now) if running else None
        out.append(MyCaseOut(
            id=case.id, number=case.number, stage=case.stage, stage_name=STAGES[Stage(case.stage)][1 if english else 0],
            category_name=category_name, description=case.description, address=case.address, lon=case.lon,
            lat=case.lat, due_at=case.node_due_at if running else None, elapsed=elapsed, light=lamp,
            overdue=bool(running and case.node_due_at and now > case.node_due_at),
            time_text=words[1 if english else 0] if words else None, urgent=case.urgent,
            rework_count=case.rework_count, supervise_count=case.supervise_count,
            pending_request=case.pending_request))
    return out


def requests(session: Session, actor: Actor, case_id: int | None, english: bool) -> list[RequestOut]:
    """The 延期/回退/挂账 requests of the caller's department (of one case when given), newest first."""
    if actor.department_id is None:
        return []
    stmt = (select(CaseRequest, Case.number).join(Case, Case.id == CaseRequest.case_id)
            .where(CaseRequest.department_id == actor.department_id).order_by(CaseRequest.id.desc()).limit(100))
    if case_id is not None:
        stmt = stmt.where(CaseRequest.case_id == case_id)
    i = 1 if english else 0
    return [RequestOut(id=r.id, case_id=r.case_id, case_number=number, kind=r.kind,
                       kind_name=REQUEST_NAMES.get(r.kind, (r.kind, r.kind))[i], reason=r.reason,
                       extension_minutes=r.extension_minutes, status=r.status,
                       status_name=REQUEST_STATUS.get(r.status, (r.status, r.status))[i], created_at=r.created_at,
                       decided_at=r.decided_at, decision_note=r.decision_note)
            for r, number in session.execute(stmt)]


def may_act(session: Session, actor: Actor, ident: str, key: str | None) -> None:
    """404 for another department's case, before the body is read (a replayed key always gets its answer)."""
    if key is None or session.get(DepartmentActionKey, key) is None:
        get_visible(session, actor, ident)


def act(ctx: Ctx, ident: str, action: str, body: ActionIn, key: str | None, fingerprint: str,
        before: int) -> tuple[int, bool]:
    """Take a department action once per Idempotency-Key; (case id, replayed). `before` = how many of the photos are
    处置前 (the rest are 处置后)."""
    if action not in ACTIONS:
        raise NotFound("unknown-action", f"部门处置端没有操作：{action}", f"The department app has no action {action}")
    session = ctx.session
    if key is not None and (found := session.get(DepartmentActionKey, key)) is not None:
        return _replay(session, found, fingerprint), True
    get_visible(session, ctx.actor, ident)  # 404 for another department's case
    extra = {"before_photos": before, "after_photos": len(ctx.photos) - before} if ctx.photos else None
    case = cases_api.apply_in_transaction(ctx, ident, action, body, extra)
    if key is not None:
        session.add(DepartmentActionKey(key=key, user_id=ctx.actor.id, case_id=case.id, action=action,
                                        request_hash=fingerprint, event_seq=case.event_count, created_at=ctx.now))
    try:
        session.commit()
    except IntegrityError:  # the same key raced in from another request: that one acted
        session.rollback()
        found = session.get(DepartmentActionKey, key) if key is not None else None
        if found is None:
            raise
        return _replay(session, found, fingerprint), True
    return case.id, False


def _replay(session: Session, found: DepartmentActionKey, fingerprint: str) -> int:
    case_id, same = found.case_id, found.request_hash == fingerprint
    session.rollback()  # nothing to write: end the transaction (and the write lock) now
    if not same:
        raise Invalid("idempotency-key-reused", "该 Idempotency-Key 已用于另一项不同的操作",
                      "This Idempotency-Key was already used with a different request")
    return case_id
