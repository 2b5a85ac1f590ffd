"""The workflow actions: load the case, ask the domain, apply the effects, append the event, commit once."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import replace
from typing import Any

from sqlalchemy import select

from cityloop.cases import hooks, practice
from cityloop.cases import service as svc
from cityloop.cases.domain import RULES, ActorState, CaseState, WorkflowError, decide
from cityloop.cases.intake import find_matter
from cityloop.cases.models import Case, CaseEvent, CaseRequest, CaseTask
from cityloop.cases.schemas import ActionIn
from cityloop.city import levels
from cityloop.catalog.models import FilingCondition
from cityloop.geo.models import DutyGridInspector
from cityloop.org.models import Department, User
from cityloop.routing import service as routing
from cityloop.shared.errors import AppError, Conflict, Invalid, NotFound
from cityloop.shared.ids import as_id
from cityloop.sla.domain import LimitError, due_at, limit_minutes, parse_limit
from sqlalchemy.orm import Session
from cityloop.cases.service import Ctx, Handler
from cityloop.config import Settings
from cityloop.org.actor import Actor

TASK_STAGES = frozenset({"verifying", "handled"})
HAND_DOWN_STAGES = RULES["hand_down"].stages
NOTE_REQUIRED = {"annotate", "escalate", "reject", "refuse", "void", "verify_fail", "check_fail", "request_return",
                 "request_extension", "request_suspension", "deny", "request_void", "deny_void", "send_back_to_lead",
                 "send_back_to_operator", "supervise_return"}


def load_case(session: Session, ident: int | str, lock: bool = False) -> Case:
    """A case by id or number, or 404."""
    row_id = as_id(ident)
    stmt = select(Case).where(Case.id == row_id if row_id is not None else Case.number == str(ident))
    if lock:
        stmt = stmt.with_for_update()
    case = session.scalar(stmt)
    if case is None:
        raise NotFound("case-not-found", f"案件 {ident} 不存在", f"Case {ident} not found")
    return case


def duty_grids_of(session: Session, user_id: int | None) -> frozenset[str]:
    """Duty grids an inspector patrols."""
    if user_id is None:
        return frozenset()
    rows = session.scalars(select(DutyGridInspector.duty_grid_code).where(DutyGridInspector.user_id == user_id))
    return frozenset(rows)


def states(session: Session, case: Case, actor: Actor, settings: Settings | None = None
           ) -> tuple[CaseState, ActorState]:
    """The domain's view of the case and the actor."""
    tasked = case.stage in TASK_STAGES  # only 核实/核查 rules look at the task and the inspector's grids
    task = svc.current_task(session, case) if tasked else None
    cs = CaseState(case.stage, case.source, case.self_handled, case.needs_verification, case.department_id,
                   case.duty_grid_code, case.pending_request, task.assignee_id if task else None,
                   case.handling_district, _can_hand_down(session, case, actor),
                   void_direct=bool(settings and settings.void_direct),
                   check_sent=not (case.stage == "handled" and case.node == "send_check"),
                   **practice.case_facts(session, case))
    grids = duty_grids_of(session, actor.id) if tasked and "inspector" in actor.roles else frozenset()
    return cs, ActorState(actor.id, actor.roles, actor.department_id, grids, getattr(actor, "district_code", None))


def _can_hand_down(session: Session, case: Case, actor: Actor) -> bool:
    """下派 is offered only where the case's district has a center (city mode); one lookup, for city staff only."""
    if case.stage not in HAND_DOWN_STAGES or case.handling_district is not None \
            or getattr(actor, "district_code", None) is not None or not actor.has("shift_lead", "dispatcher", "admin"):
        return False
    return levels.has_center(session, case.district_code)


def apply(ctx: svc.Ctx, ident: int | str, action: str, body: ActionIn) -> Case:
    """Run one action on a case for ctx.actor and commit."""
    case = apply_in_transaction(ctx, ident, action, body)
    ctx.session.commit()
    return case


def apply_in_transaction(ctx: svc.Ctx, ident: int | str, action: str, body: ActionIn,
                         extra: dict[str, Any] | None = None) -> Case:
    """Run one action without committing (automation chains several steps in one transaction); `extra` is
    added to the event's payload."""
    return _run(ctx, load_case(ctx.session, ident, lock=True), action, body, extra, None)


def apply_many(ctx: svc.Ctx, steps: Sequence[tuple[int, str, ActionIn]], own_rows_only: bool = False) -> list[Case]:
    """Run one action on each of several cases (case id, action, body) without committing: the cases are loaded
    and locked with one query, and the hooks get the steps' events in one call, each (case, event) as the single
    action would have handed it. Any refused step raises, as apply_in_transaction does. `own_rows_only`: the
    caller knows these steps read no row another step of the call writes (no 核实/核查 task to assign, no routing
    rule saved, no merge), so the session flushes once for all of them instead of before each read."""
    if not steps:
        return []
    ids = sorted({case_id for case_id, _, _ in steps})
    found = {c.id: c for c in ctx.session.scalars(select(Case).where(Case.id.in_(ids)).order_by(Case.id)
                                                  .with_for_update())}
    pending: hooks.CaseEvents = []
    out: list[Case] = []
    seen: set[int] = set()
    with ctx.session.no_autoflush if own_rows_only else nullcontext():
        for case_id, action, body in steps:
            case = found.get(case_id)
            if case is None:
                raise NotFound("case-not-found", f"案件 {case_id} 不存在", f"Case {case_id} not found")
            if case_id in seen:  # a second step on a case: it and the hooks see the first one's effects
                ctx.session.flush()
                hooks.emit(ctx.session, ctx.settings, pending)
                pending, seen = [], set()
            seen.add(case_id)
            out.append(_run(ctx, case, action, body, None, pending))
    hooks.emit(ctx.session, ctx.settings, pending)
    return out


def _run(ctx: svc.Ctx, case: Case, action: str, body: ActionIn, extra: dict[str, Any] | None,
         pending: hooks.CaseEvents | None) -> Case:
    cs, actor_state = states(ctx.session, case, ctx.actor, ctx.settings)
    try:
        target = decide(cs, action, actor_state)
    except WorkflowError as exc:
        raise AppError(exc.code, exc.zh, exc.en, status=exc.status, stage=case.stage) from exc
    if action == "close":  # exchange hook: an assigned case's result must have gone up first
        from cityloop.exchange.guard import check_close

        check_close(ctx.session, case)
    if action in NOTE_REQUIRED and not (body.note or "").strip():
        raise Invalid("note-required", "此操作需要填写意见/原因（note）", f"Action {action} needs a note (reason)")
    from_stage = case.stage
    payload = HANDLERS.get(action, _plain)(ctx, case, body, target)
    if body.note:
        payload["note"] = body.note
    svc.record(ctx, case, action, from_stage, {**payload, **(extra or {})}, pending)
    if action == "close" and body.rating and not _rated(ctx, case):
        # 回访: the caller's satisfaction, as the same "rate" event a public rating makes (满意率 counts it).
        svc.record(replace(ctx, photos=[]), case, "rate", case.stage, {"rating": body.rating, "via": "callback"},
                   pending)
    return case


def _rated(ctx: Ctx, case: Case) -> bool:
    return ctx.session.scalar(select(CaseEvent.id).where(CaseEvent.case_id == case.id,
                                                         CaseEvent.action == "rate")) is not None


def _close(ctx: Ctx, case: Case, body: ActionIn, target: str | None) -> dict[str, Any]:
    """结案, with the 回访 (return call) to the reporter when one was made: its outcome and satisfaction."""
    payload = _plain(ctx, case, body, target)
    payload["close_type"] = case.close_type = practice.close_type_of(ctx, case, body)
    if body.callback or body.rating:
        if body.rating and _rated(ctx, case):
            raise Conflict("already-rated", "该案件已评价过", "This case has already been rated")
        payload["callback"] = {"result": (body.callback or "").strip(), "rating": body.rating}
    return payload


def _plain(ctx: Ctx, case: Case, body: ActionIn, target: str | None) -> dict[str, Any]:
    if target is not None and target != case.stage:
        _finish_task(ctx, case, None)
        svc.enter_stage(ctx, case, target)
        if target in ("closed", "rejected", "merged", "void"):
            _terminal(ctx, case)
    return {}


def _terminal(ctx: Ctx, case: Case) -> None:
    case.closed_at = ctx.now
    if case.stage == "void":
        case.close_type = "void"
    practice.cancel_assists(ctx, case)
    for task in ctx.session.scalars(select(CaseTask).where(CaseTask.case_id == case.id, CaseTask.status == "open")):
        task.status, task.done_at = "cancelled", ctx.now
    for req in ctx.session.scalars(select(CaseRequest).where(CaseRequest.case_id == case.id,
                                                             CaseRequest.status == "pending")):
        req.status, req.decided_at = "cancelled", ctx.now
    case.pending_request, case.paused_at = None, None


def _finish_task(ctx: Ctx, case: Case, result: str | None) -> None:
    task = svc.current_task(ctx.session, case)
    if task is not None:
        task.status, task.done_at, task.result = "done", ctx.now, result
        if task.assignee_id is None:
            task.assignee_id = ctx.actor.id


def _moved(target: str | None) -> str:
    """The stage an action that always moves the case moves it to (its rule has a `to`)."""
    assert target is not None, "the rule of this action moves the case"
    return target


def _inspection(result: str) -> Handler:
    def handler(ctx: Ctx, case: Case, body: ActionIn, target: str | None) -> dict[str, Any]:
        _finish_task(ctx, case, result)
        svc.enter_stage(ctx, case, _moved(target))
        if target == "rejected":
            _terminal(ctx, case)
        if result == "fail" and target == "dispatched":  # 返工: same department, the full limit again
            case.rework_count += 1
        return {"result": result, "photos": len(ctx.photos)}

    return handler


def _merge(ctx: Ctx, case: Case, body: ActionIn, target: str | None) -> dict[str, Any]:
    if not body.target_case:
        raise Invalid("target-required", "合并需要指定重复于哪个案件（target_case）", "merge needs target_case")
    other = load_case(ctx.session, body.target_case)
    if other.id == case.id or other.stage in ("closed", "rejected", "merged", "void"):
        raise Invalid("bad-merge-target", "只能合并到另一个未办结的案件", "Merge into another open case")
    case.merged_into_id = other.id
    _plain(ctx, case, body, target)
    return {"target_case": other.number}


def _reassign(ctx: Ctx, case: Case, body: ActionIn, target: str | None) -> dict[str, Any]:
    user = ctx.session.scalar(select(User).where(User.username == (body.inspector or "")))
    if user is None or "inspector" not in user.role_names:
        raise Invalid("not-an-inspector", f"{body.inspector} 不是监督员", f"{body.inspector} is not an inspector")
    task = svc.current_task(ctx.session, case)
    assert task is not None, "reassign is allowed only while a 核实/核查 task is open"
    task.assignee_id = user.id
    return {"inspector": user.username, "task": task.kind}


def _file(ctx: Ctx, case: Case, body: ActionIn, target: str | None) -> dict[str, Any]:
    if body.category_code and body.category_code != case.category_code:
        cat = find_matter(ctx.session, ctx.settings.catalog_standard, body.category_code)
        case.category_id, case.category_code = cat.id, cat.code
    conds = list(ctx.session.scalars(select(FilingCondition).where(FilingCondition.category_id == case.category_id)
                                     .order_by(FilingCondition.position)))
    if not conds:
        raise Invalid("no-condition", "该事项未配置立案条件", "This category has no filing condition")
    if body.condition_code:
        cond = next((c for c in conds if c.code == body.condition_code), None)
        if cond is None:
            raise Invalid("unknown-condition", f"未知立案条件：{body.condition_code}", f"Unknown condition {body.condition_code}")
    else:
        cond = next((c for c in conds if c.is_default), conds[0])
    case.filing_condition_id, case.urgent = cond.id, cond.urgent if body.urgent is None else body.urgent
    suggestion = routing.suggest_for_case(ctx.session, case)
    case.suggested_department_id, case.needs_ownership = suggestion.department_id, suggestion.needs_ownership
    case.routing_reason = suggestion.reason_zh
    svc.enter_stage(ctx, case, _moved(target))
    return {"category_code": case.category_code, "condition_code": cond.code, "urgent": case.urgent,
            "suggested_department_id": suggestion.department_id, "routing_reason": suggestion.reason_zh}


def _dispatch(ctx: Ctx, case: Case, body: ActionIn, target: str | None) -> dict[str, Any]:
    dept_id: int | None
    if body.department_code:
        dept = ctx.session.scalar(select(Department).where(Department.code == body.department_code,
                                                           Department.active.is_(True)))
        if dept is None:
            raise Invalid("unknown-department", f"未知部门：{body.department_code}", f"Unknown department {body.department_code}")
        dept_id = dept.id
    else:
        dept_id = case.suggested_department_id or routing.suggest_for_case(ctx.session, case).department_id
        if dept_id is None:
            raise Invalid("department-required", "无法自动确定处置部门，请指定 department_code",
                          "No department could be suggested; give department_code")
    payload: dict[str, Any] = {"department_id": dept_id, "suggested": dept_id == case.suggested_department_id}
    if case.last_department_id is not None and dept_id != case.last_department_id:
        case.wrong_dispatch_count += 1  # 错误派遣: a return was approved and it goes elsewhere now
        payload["wrong_dispatch"] = True
    if body.save_rule_level:
        rule = routing.save_rule(ctx.session, case, dept_id, body.save_rule_level, ctx.now)
        ctx.session.flush()
        payload["rule_id"] = rule.id
        case.needs_ownership = False
    case.department_id, case.last_department_id = dept_id, None
    svc.enter_stage(ctx, case, _moved(target))
    if body.helpers:
        payload["helpers"] = practice.open_assists(ctx, case, body.helpers)
    return payload


def _handle(ctx: Ctx, case: Case, body: ActionIn, target: str | None) -> dict[str, Any]:
    result = (body.result or body.note or "").strip()
    if not result:
        raise Invalid("result-required", "处置反馈需要填写处置结果（result）", "handle needs a result text")
    lapsed = practice.lapse_assists(ctx, case)  # the lead (主办) reports for the case
    svc.enter_stage(ctx, case, _moved(target))
    return {"result": result, "photos": len(ctx.photos), **({"assists_unfinished": lapsed} if lapsed else {})}


def _request(kind: str) -> Handler:
    def handler(ctx: Ctx, case: Case, body: ActionIn, target: str | None) -> dict[str, Any]:
        minutes = None
        if kind == "extension":
            try:
                value, unit = parse_limit(body.extension or "")
                minutes = limit_minutes(value, unit, case.urgent, ctx.cal.day_minutes)
            except LimitError as exc:
                raise Invalid("bad-extension", f"延期时长无效：{exc}", f"Bad extension: {exc}") from exc
        req = CaseRequest(case_id=case.id, kind=kind, department_id=case.department_id, requested_by=ctx.actor.id,
                          reason=body.note, extension_minutes=minutes, status="pending", created_at=ctx.now)
        ctx.session.add(req)
        case.pending_request = kind
        return {"request": kind, "extension_minutes": minutes}

    return handler


def _decide_request(approved: bool) -> Handler:
    def handler(ctx: Ctx, case: Case, body: ActionIn, target: str | None) -> dict[str, Any]:
        req = ctx.session.scalar(select(CaseRequest).where(CaseRequest.case_id == case.id,
                                                           CaseRequest.status == "pending"))
        assert req is not None, "the rules decide only a pending request"
        req.status, req.decided_by, req.decided_at = ("approved" if approved else "denied"), ctx.actor.id, ctx.now
        req.decision_note = body.note
        case.pending_request = None
        if approved:
            _apply_request(ctx, case, req)
        return {"request": req.kind, "approved": approved}

    return handler


def _apply_request(ctx: Ctx, case: Case, req: CaseRequest) -> None:
    if req.kind == "return":
        case.return_count += 1
        case.last_department_id, case.department_id = case.department_id, None
        svc.enter_stage(ctx, case, "filed")
    elif req.kind == "extension":
        node = svc.open_node(ctx.session, case)
        assert node is not None and req.extension_minutes is not None, "a dispatched case's 处置 node runs"
        node.due_at = due_at(ctx.cal, node.due_at, req.extension_minutes, node.urgent)
        node.extended_minutes += req.extension_minutes
        case.node_due_at, case.overdue = node.due_at, False
        case.extension_count += 1
    elif req.kind == "suspension":
        case.suspension_count += 1
        case.stage, case.paused_at = "suspended", ctx.now


def _resume(ctx: Ctx, case: Case, body: ActionIn, target: str | None) -> dict[str, Any]:
    node = svc.open_node(ctx.session, case)
    assert node is not None and case.paused_at is not None, "a suspended case keeps its 处置 node, paused"
    if node.urgent:
        paused = (ctx.now - case.paused_at).total_seconds() / 60
    else:
        paused = ctx.cal.between(case.paused_at, ctx.now)
    node.due_at = due_at(ctx.cal, node.due_at, paused, node.urgent)  # 挂账 time does not count
    case.node_due_at, case.stage, case.paused_at, case.overdue = node.due_at, "dispatched", None, False
    return {"paused_minutes": round(paused, 1)}


def _void(ctx: Ctx, case: Case, body: ActionIn, target: str | None) -> dict[str, Any]:
    """作废: the shift lead's approval of a pending request_void (or, as a deployment option, a direct void)."""
    payload: dict[str, Any] = {}
    req = ctx.session.scalar(select(CaseRequest).where(CaseRequest.case_id == case.id, CaseRequest.status == "pending",
                                                       CaseRequest.kind == "void"))
    if req is not None:
        req.status, req.decided_by, req.decided_at, req.decision_note = "approved", ctx.actor.id, ctx.now, body.note
        payload = {"request": "void", "approved": True, "reason": req.reason}
    case.pending_request = None
    return {**payload, **_plain(ctx, case, body, target), "close_type": "void"}


def _rate(ctx: Ctx, case: Case, body: ActionIn, target: str | None) -> dict[str, Any]:
    if body.rating is None:
        raise Invalid("rating-required", "请选择满意度：满意、基本满意或不满意", "rate needs a rating")
    if _rated(ctx, case):
        raise Conflict("already-rated", "该案件已评价过", "This case has already been rated")
    return {"rating": body.rating}


HANDLERS: dict[str, Handler] = {
    "merge": _merge, "reassign": _reassign, "file": _file, "dispatch": _dispatch, "handle": _handle,
    "verify_ok": _inspection("ok"), "verify_fail": _inspection("fail"),
    "check_ok": _inspection("ok"), "check_fail": _inspection("fail"),
    "request_return": _request("return"), "request_extension": _request("extension"),
    "request_suspension": _request("suspension"), "approve": _decide_request(True),
    "deny": _decide_request(False), "resume": _resume, "rate": _rate,
    "close": _close, "request_void": _request("void"), "deny_void": _decide_request(False),
    "void": _void, "hand_down": levels.hand_down, "escalate": levels.escalate, **practice.HANDLERS,
}
