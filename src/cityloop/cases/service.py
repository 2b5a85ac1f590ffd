"""Case intake (上报) and the shared bookkeeping every action uses: events, nodes, tasks, numbers."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cityloop.cases.domain import NODE_OF_STAGE
from cityloop.cases.models import Case, CaseEvent, CaseNode, CasePhoto, CaseTask
from cityloop.cases.photos import StoredPhoto
from cityloop.cases.schemas import ReportIn
from cityloop.catalog.models import Category, Component
from cityloop.config import Settings
from cityloop.deps import Actor
from cityloop.geo.models import DutyGridInspector
from cityloop.org.models import UserRole
from cityloop.shared.errors import Forbidden, Invalid
from cityloop.sla.domain import WorkCalendar, due_at, limit_minutes

# Which sources each role may report for; the first is the default.
ROLE_SOURCES = {
    "inspector": ("inspector",),
    "operator": ("hotline", "public", "video", "open311", "sensor", "assigned"),
    "leader": ("assigned",),
    "shift_lead": ("assigned", "hotline"),
    "admin": ("inspector", "public", "hotline", "video", "sensor", "assigned", "open311"),
}


@dataclass
class Ctx:
    """Everything one use case needs; built by the router."""

    session: Session
    settings: Settings
    cal: WorkCalendar
    now: datetime
    actor: Actor
    photos: list[StoredPhoto] = field(default_factory=list)


def request_hash(body: ReportIn, photos: list[StoredPhoto]) -> str:
    """Fingerprint of a report, to tell a retry from a different report under the same key."""
    doc = {"body": body.model_dump(mode="json"), "photos": [p.sha256 for p in photos]}
    return hashlib.sha256(json.dumps(doc, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def find_by_key(session: Session, key: str, fingerprint: str) -> Case | None:
    """The case already created under this Idempotency-Key, or None; a different body is an error."""
    case = session.scalar(select(Case).where(Case.idempotency_key == key))
    if case is not None and case.request_hash != fingerprint:
        raise Invalid("idempotency-key-reused", "该 Idempotency-Key 已用于另一份不同的上报",
                      "This Idempotency-Key was already used with a different request body")
    return case


def pick_source(actor: Actor, wanted: str | None) -> str:
    """The report's source: what the role may report for, defaulting by role."""
    allowed: list[str] = []
    for role in sorted(actor.roles):
        allowed.extend(s for s in ROLE_SOURCES.get(role, ()) if s not in allowed)
    if not allowed:
        raise Forbidden("cannot-report", "当前角色不能上报案件", "Your role cannot report cases")
    if wanted is None:
        return allowed[0]
    if wanted not in allowed:
        raise Forbidden("source-not-allowed", f"当前角色不能以来源「{wanted}」上报", f"Your role cannot report as {wanted}")
    return wanted


def find_matter(session: Session, standard: str, code: str) -> Category:
    """The active matter with this code in the deployment's catalog, or a 422."""
    cat = session.scalar(select(Category).where(Category.standard == standard, Category.kind == "matter",
                                                Category.code == code, Category.active.is_(True)))
    if cat is None:
        raise Invalid("unknown-category", f"未知的事项代码：{code}", f"Unknown category code {code} in {standard}")
    return cat


def next_number(session: Session, settings: Settings, now: datetime) -> str:
    """LA2026112300017: prefix, local date, 5-digit daily sequence (atomic upsert)."""
    day = now.astimezone(ZoneInfo(settings.timezone)).strftime("%Y%m%d")
    seq = session.execute(
        text("INSERT INTO case_number_seq (day, last) VALUES (:d, 1) "
             "ON CONFLICT (day) DO UPDATE SET last = case_number_seq.last + 1 RETURNING last"), {"d": day}
    ).scalar_one()
    return f"{settings.case_number_prefix}{day}{seq:05d}"


def record(ctx: Ctx, case: Case, action: str, from_stage: str | None, payload: dict) -> CaseEvent:
    """Append the immutable event for an action."""
    case.event_count += 1
    case.updated_at = ctx.now
    role = _acting_role(ctx.actor, action)
    event = CaseEvent(case_id=case.id, seq=case.event_count, action=action, actor_id=ctx.actor.id,
                      actor_name=ctx.actor.display_name, actor_role=role, at=ctx.now, from_stage=from_stage,
                      to_stage=case.stage, payload=payload)
    ctx.session.add(event)
    for photo in ctx.photos:
        ctx.session.add(CasePhoto(case_id=case.id, event_seq=event.seq, sha256=photo.sha256,
                                  content_type=photo.content_type, size_bytes=photo.size_bytes,
                                  width=photo.width, height=photo.height, created_at=ctx.now))
    return event


def _acting_role(actor: Actor, action: str) -> str:
    from cityloop.cases.domain import RULES

    rule = RULES.get(action)
    wanted = rule.roles if rule else ("inspector", "operator", "leader", "shift_lead")
    for role in wanted:
        if role in actor.roles:
            return role
    return sorted(actor.roles)[0] if actor.roles else "system"


def node_limit(ctx: Ctx, case: Case, node: str, condition_limit: int | None = None) -> int:
    """Minutes allowed for a node: settings for workflow nodes, the filing condition for 处置."""
    if node == "handle" and condition_limit is not None:
        return condition_limit
    return ctx.settings.node_limits.get(node, 60)


def handle_limit(ctx: Ctx, case: Case) -> int:
    """The handling limit of the case's filing condition, in minutes."""
    from cityloop.catalog.models import FilingCondition

    cond = ctx.session.get(FilingCondition, case.filing_condition_id) if case.filing_condition_id else None
    if cond is None:
        return ctx.settings.node_limits.get("handle", 480)
    return limit_minutes(cond.limit_value, cond.limit_unit, cond.urgent, ctx.cal.day_minutes)


def start_node(ctx: Ctx, case: Case, node: str) -> CaseNode:
    """Open a node with its deadline stored, and mirror it on the case."""
    minutes = handle_limit(ctx, case) if node == "handle" else node_limit(ctx, case, node)
    due = due_at(ctx.cal, ctx.now, minutes, case.urgent)
    row = CaseNode(case_id=case.id, node=node, started_at=ctx.now, limit_minutes=minutes, urgent=case.urgent,
                   due_at=due, department_id=case.department_id if node == "handle" else None)
    ctx.session.add(row)
    case.node, case.node_started_at, case.node_due_at, case.node_urgent = node, ctx.now, due, case.urgent
    case.overdue = False
    return row


def open_node(session: Session, case: Case) -> CaseNode | None:
    """The node currently running on the case."""
    return session.scalar(select(CaseNode).where(CaseNode.case_id == case.id, CaseNode.ended_at.is_(None))
                          .order_by(CaseNode.id.desc()))


def end_node(ctx: Ctx, case: Case) -> None:
    """Close the running node and record whether it finished on time."""
    row = open_node(ctx.session, case)
    if row is not None:
        row.ended_at, row.ended_by, row.on_time = ctx.now, ctx.actor.id, ctx.now <= row.due_at
    case.node = case.node_started_at = case.node_due_at = None
    case.overdue = False


def enter_stage(ctx: Ctx, case: Case, stage: str) -> None:
    """Move to a stage: end the running node, start the stage's node, open or close inspector tasks."""
    end_node(ctx, case)
    case.stage = stage
    node = NODE_OF_STAGE.get(stage)
    if node:
        start_node(ctx, case, node)
    if stage in ("verifying", "handled"):
        open_task(ctx, case, "verify" if stage == "verifying" else "check")


def open_task(ctx: Ctx, case: Case, kind: str) -> CaseTask:
    """A 核实/核查 task for the least busy inspector of the case's duty grid (unassigned if it has none)."""
    open_count = (select(func.count(CaseTask.id)).where(CaseTask.assignee_id == DutyGridInspector.user_id,
                                                         CaseTask.status == "open").scalar_subquery())
    assignee = ctx.session.scalar(
        select(DutyGridInspector.user_id).join(UserRole, UserRole.user_id == DutyGridInspector.user_id)
        .where(DutyGridInspector.duty_grid_code == case.duty_grid_code, UserRole.role == "inspector")
        .order_by(open_count, DutyGridInspector.user_id).limit(1)
    ) if case.duty_grid_code else None
    task = CaseTask(case_id=case.id, kind=kind, duty_grid_code=case.duty_grid_code, assignee_id=assignee,
                    status="open", created_at=ctx.now, due_at=case.node_due_at or ctx.now)
    ctx.session.add(task)
    return task


def current_task(session: Session, case: Case) -> CaseTask | None:
    """The open inspector task of a case."""
    return session.scalar(select(CaseTask).where(CaseTask.case_id == case.id, CaseTask.status == "open")
                          .order_by(CaseTask.id.desc()))


def report(ctx: Ctx, body: ReportIn, locate: Callable, to_wgs84: Callable, key: str | None) -> tuple[Case, bool]:
    """上报: validate, locate, number and store a new case; returns (case, created)."""
    fingerprint = request_hash(body, ctx.photos)
    if key and (existing := find_by_key(ctx.session, key, fingerprint)) is not None:
        return existing, False
    source = pick_source(ctx.actor, body.source)
    if body.self_handled and source != "inspector":
        raise Invalid("self-handled-inspector-only", "只有监督员可以上报自行处置案件", "Only inspectors report self-handled cases")
    category = find_matter(ctx.session, ctx.settings.catalog_standard, body.category_code)
    lon, lat = to_wgs84(body.lon, body.lat, body.coord_sys)
    place = locate(lon, lat)
    if place is None:
        raise Invalid("outside-grids", f"位置 ({lon:.6f}, {lat:.6f}) 不在任何单元网格内",
                      f"The point ({lon:.6f}, {lat:.6f}) is outside every unit grid")
    if body.component_id and ctx.session.get(Component, body.component_id) is None:
        raise Invalid("unknown-component", f"未知部件标识码：{body.component_id}", f"Unknown component {body.component_id}")
    case = Case(number=next_number(ctx.session, ctx.settings, ctx.now), stage="reported", source=source,
                category_id=category.id, category_code=category.code, description=body.description,
                address=body.address, lon=lon, lat=lat, component_id=body.component_id,
                grid_code=place.grid_code, duty_grid_code=place.duty_grid_code,
                community_code=place.community_code, street_code=place.street_code,
                district_code=place.district_code, reporter_id=ctx.actor.id,
                reporter_name=body.reporter_name or (ctx.actor.display_name if source == "inspector" else None),
                reporter_phone=body.reporter_phone, self_handled=body.self_handled, created_at=ctx.now,
                updated_at=ctx.now, idempotency_key=key, request_hash=fingerprint)
    ctx.session.add(case)
    ctx.session.flush()
    start_node(ctx, case, "accept")
    record(ctx, case, "report", None, {"source": source, "category_code": category.code,
                                       "self_handled": body.self_handled, "coord_sys": body.coord_sys,
                                       "photos": len(ctx.photos)})
    try:
        ctx.session.commit()
    except IntegrityError:
        ctx.session.rollback()
        if key and (existing := find_by_key(ctx.session, key, fingerprint)) is not None:
            return existing, False
        raise
    return case, True
