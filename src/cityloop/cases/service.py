"""The bookkeeping every case action uses: the use-case context, events, nodes with deadlines, inspector tasks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityloop.audit.keys import audit_key
from cityloop.cases import hooks
from cityloop.cases.domain import LATE_STATE_FIELDS, NODE_OF_STAGE, RULES, STATE_FIELDS, event_mac, state_digest
from cityloop.cases.models import Case, CaseEvent, CaseNode, CasePhoto, CaseTask
from cityloop.cases.photos import Photo, decode
from cityloop.config import Settings
from cityloop.org.actor import Actor
from cityloop.geo.models import DutyGridInspector
from cityloop.org.models import UserRole
from cityloop.sla.domain import WorkCalendar, due_at, limit_minutes

if TYPE_CHECKING:
    from cityloop.cases.batcher import GroupCommitter
    from cityloop.cases.schemas import ActionIn
    from cityloop.catalog.cache import Matter


@dataclass
class Ctx:
    """Everything one use case needs; built by the router."""

    session: Session
    settings: Settings
    cal: WorkCalendar
    now: datetime
    actor: Actor
    photos: list[Photo] = field(default_factory=list)  # screened; decoded when recorded, saved after commit
    # Reference lookups go through a read session when one is given, so the write lock is taken only to write.
    read_session: Session | None = None
    # The process's group committer (cases/batcher.py): when given, a new report is written in a batch with
    # others arriving at the same time, by its writer thread, instead of on `session`.
    committer: GroupCommitter | None = None
    matters: Callable[[str], Matter | None] | None = None  # the process's matter cache, as the core API uses

    @property
    def reads(self) -> Session:
        return self.read_session or self.session


# An action's effects (cases.actions.HANDLERS): (ctx, case, body, the stage the rules move the case to, None = it
# stays) -> the event's payload.
Handler = Callable[[Ctx, Case, "ActionIn", str | None], dict[str, Any]]


def record(ctx: Ctx, case: Case, action: str, from_stage: str | None, payload: dict[str, Any],
           pending: hooks.CaseEvents | None = None) -> CaseEvent:
    """Append the immutable event for an action, MACed with the case's state after it (call it last); with
    `pending`, the (case, event) goes there for the caller to emit to the hooks instead of being emitted now."""
    case.event_count += 1
    case.updated_at = ctx.now
    role = acting_role(ctx.actor, action)
    fields: dict[str, Any] = dict(seq=case.event_count, action=action, actor_id=ctx.actor.id, actor_name=ctx.actor.display_name,
                  actor_role=role, at=ctx.now, from_stage=from_stage, to_stage=case.stage, payload=payload)
    state = state_digest(case_state(case))
    digest = event_mac(audit_key(ctx.settings), case.event_hash, case.number, state=state, **fields)
    event = CaseEvent(case_id=case.id, prev_hash=case.event_hash, hash=digest, state_hash=state, **fields)
    case.event_hash = digest
    ctx.session.add(event)
    if pending is None:
        hooks.emit(ctx.session, ctx.settings, [(case, fields)])
    else:
        pending.append((case, fields))
    decode(ctx.settings, ctx.photos)  # only now, when the action was allowed: the costly part of an upload
    for photo in ctx.photos:
        ctx.session.add(CasePhoto(case_id=case.id, event_seq=event.seq, sha256=photo.sha256,
                                  content_type=photo.content_type, size_bytes=photo.size_bytes,
                                  width=photo.width, height=photo.height, created_at=ctx.now))
    return event


def case_state(case: Case) -> dict[str, Any]:
    """The case row's columns its events vouch for."""
    return {f: getattr(case, f) for f in STATE_FIELDS + LATE_STATE_FIELDS}


def acting_role(actor: Actor, action: str) -> str:
    """The role an actor acts in for an action (the first of the rule's roles they have)."""
    rule = RULES.get(action)
    wanted = rule.roles if rule else ("inspector", "operator", "leader", "shift_lead")
    for role in wanted:
        if role in actor.roles:
            return role
    return sorted(actor.roles)[0] if actor.roles else "system"


def node_limit(ctx: Ctx, node: str) -> int:
    """Minutes allowed for a workflow node (受理, 核实, 立案, 派遣, 核查, 结案) from the settings."""
    return ctx.settings.node_limits.get(node, 60)


def handle_limit(ctx: Ctx, case: Case) -> int:
    """The handling limit of the case's filing condition, in minutes."""
    from cityloop.catalog.models import FilingCondition

    cond = ctx.session.get(FilingCondition, case.filing_condition_id) if case.filing_condition_id else None
    if cond is None:
        return ctx.settings.node_limits.get("handle", 480)
    return limit_minutes(cond.limit_value, cond.limit_unit, case.urgent, ctx.cal.day_minutes)


def start_node(ctx: Ctx, case: Case, node: str) -> CaseNode:
    """Open a node with its deadline stored, and mirror it on the case."""
    if node == "handle" and case.required_due_at is not None and case.required_due_at > ctx.now:
        due = case.required_due_at  # 上级交办: the assigning authority fixed the deadline
        minutes = round((due - ctx.now).total_seconds() / 60 if case.urgent else ctx.cal.between(ctx.now, due))
    else:
        minutes = handle_limit(ctx, case) if node == "handle" else node_limit(ctx, node)
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
    node: str | None = NODE_OF_STAGE.get(stage)
    operator_sends = stage == "handled" and ctx.settings.check_dispatch == "operator"
    if operator_sends:
        node = "send_check"  # the 受理员 sends the 核查 task (action send_check); that node runs first
    if node:
        start_node(ctx, case, node)
    if stage == "verifying" or (stage == "handled" and not operator_sends):
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
