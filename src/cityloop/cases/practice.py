"""The practice flows of docs/workflow.md: 回退 to the previous node, 督办单 and 督查, 主办/协办, 发核查, 结案类型.

Handlers run inside cases.actions.apply (the domain has already allowed the action); they change rows and return
the event payload."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from cityloop.cases import service as svc
from cityloop.cases.domain import close_type
from cityloop.cases.models import Case, CaseAssist, CaseNode, CaseSupervision
from cityloop.cases.schemas import ActionIn, HelperIn
from cityloop.org.models import Department
from cityloop.shared.errors import Invalid, NotFound
from cityloop.sla.domain import LimitError, due_at, limit_minutes, parse_limit
from sqlalchemy.orm import Session
from cityloop.cases.service import Ctx, Handler


def case_facts(session: Session, case: Case) -> dict[str, Any]:
    """The CaseState fields these flows add: open 协办 departments, units owing a 督办 reply, a reply to check."""
    if (case.event_count or 0) <= 1:  # only reported so far (e.g. the response to a report): no 督办 nor 协办 yet
        return {"assist_departments": frozenset(), "supervised_departments": frozenset(), "supervision_replied": False}
    assists = frozenset(session.scalars(select(CaseAssist.department_id).where(
        CaseAssist.case_id == case.id, CaseAssist.status == "open"))) if case.stage == "dispatched" else frozenset()
    sups = session.execute(select(CaseSupervision.department_id, CaseSupervision.status).where(
        CaseSupervision.case_id == case.id, CaseSupervision.status.in_(("open", "replied")))).all()
    return {"assist_departments": assists,
            "supervised_departments": frozenset(d for d, st in sups if st == "open"),
            "supervision_replied": any(st == "replied" for _, st in sups)}


def _deadline(ctx: Ctx, case: Case, text: str | None, default: str, what: str) -> tuple[int, datetime]:
    try:
        value, unit = parse_limit(text or default)
        minutes = limit_minutes(value, unit, case.urgent, ctx.cal.day_minutes)
        return minutes, due_at(ctx.cal, ctx.now, minutes, case.urgent)
    except LimitError as exc:
        raise Invalid(f"bad-{what}", f"时限无效：{exc}", f"Bad {what}: {exc}") from exc


def _department(ctx: Ctx, code: str | None) -> Department:
    dept = ctx.session.scalar(select(Department).where(Department.code == (code or ""), Department.active.is_(True)))
    if dept is None:
        raise Invalid("unknown-department", f"未知部门：{code}", f"Unknown department {code}")
    return dept


# --- 回退 to the previous node ---------------------------------------------------------------------------------

def _send_back(ctx: Ctx, case: Case, body: ActionIn, target: str | None) -> dict[str, Any]:
    case.send_back_count += 1
    assert target is not None, "回退 moves the case back a node"
    svc.enter_stage(ctx, case, target)  # the previous node starts again with its full limit
    return {"send_back_count": case.send_back_count, "to_node": case.node}


# --- 发核查 (CITYLOOP_CHECK_DISPATCH=operator) ---------------------------------------------------------------------

def _send_check(ctx: Ctx, case: Case, body: ActionIn, target: str | None) -> dict[str, Any]:
    run = svc.open_node(ctx.session, case)
    on_time = run is None or ctx.now <= run.due_at
    svc.end_node(ctx, case)
    svc.start_node(ctx, case, "check")
    svc.open_task(ctx, case, "check")
    return {"on_time": on_time}


# --- 主办/协办 ------------------------------------------------------------------------------------------------------

def open_assists(ctx: Ctx, case: Case, helpers: Sequence[HelperIn]) -> list[dict[str, Any]]:
    """协办 tasks for the helper departments of a dispatch (the case's department is the lead, 主办)."""
    out: list[dict[str, Any]] = []
    seen = {case.department_id}
    for helper in helpers:
        dept = _department(ctx, helper.department_code)
        if dept.id in seen:
            raise Invalid("duplicate-helper", f"协办部门重复或与主办部门相同：{dept.code}",
                          f"Helper {dept.code} is the lead or listed twice")
        seen.add(dept.id)
        _, due = _deadline(ctx, case, helper.limit, "1d", "helper-limit")
        ctx.session.add(CaseAssist(case_id=case.id, department_id=dept.id, task=helper.task, created_at=ctx.now,
                                   due_at=due, status="open"))
        out.append({"department_id": dept.id, "department_code": dept.code, "task": helper.task,
                    "due_at": due.isoformat()})
    return out


def _assist_report(ctx: Ctx, case: Case, body: ActionIn, target: str | None) -> dict[str, Any]:
    result = (body.result or body.note or "").strip()
    if not result:
        raise Invalid("result-required", "协办反馈需要填写结果（result）", "assist_report needs a result text")
    task = ctx.session.scalar(select(CaseAssist).where(CaseAssist.case_id == case.id, CaseAssist.status == "open",
                                                       CaseAssist.department_id == ctx.actor.department_id))
    if task is None:  # an admin acting: the oldest open helper task
        task = ctx.session.scalar(select(CaseAssist).where(CaseAssist.case_id == case.id,
                                                           CaseAssist.status == "open").order_by(CaseAssist.id))
    assert task is not None, "the rules allow assist_report only while a helper task is open"
    task.status, task.result, task.done_by, task.done_at = "done", result, ctx.actor.id, ctx.now
    task.on_time = ctx.now <= task.due_at
    return {"assist_id": task.id, "department_id": task.department_id, "result": result, "on_time": task.on_time}


def lapse_assists(ctx: Ctx, case: Case) -> list[int]:
    """When the lead reports, helper tasks still open are closed as 未完成 (lapsed) and counted against the helper."""
    lapsed: list[int] = []
    for task in ctx.session.scalars(select(CaseAssist).where(CaseAssist.case_id == case.id,
                                                             CaseAssist.status == "open")):
        task.status, task.done_at, task.on_time = "lapsed", ctx.now, False
        lapsed.append(task.department_id)
    return lapsed


def cancel_assists(ctx: Ctx, case: Case) -> None:
    """A case that ends (作废, 不予立案 …) cancels its open helper tasks; they count for nobody."""
    for task in ctx.session.scalars(select(CaseAssist).where(CaseAssist.case_id == case.id,
                                                             CaseAssist.status == "open")):
        task.status, task.done_at = "cancelled", ctx.now


# --- 督办单 and 督查 -------------------------------------------------------------------------------------------------

def _supervise(ctx: Ctx, case: Case, body: ActionIn, target: str | None) -> dict[str, Any]:
    case.supervise_count += 1
    if body.department_code:
        dept_id = _department(ctx, body.department_code).id
    elif case.department_id is not None:
        dept_id = case.department_id
    else:  # not yet with a unit: the centre's own urging, no 督办单
        return {"supervise_count": case.supervise_count, "supervision_id": None}
    _, due = _deadline(ctx, case, body.reply_within, ctx.settings.supervision_reply_limit, "reply-within")
    earlier = ctx.session.scalar(select(func.count(CaseSupervision.id)).where(
        CaseSupervision.case_id == case.id, CaseSupervision.department_id == dept_id)) or 0
    text = (body.note or "").strip() or "请按时办理并回复"
    row = CaseSupervision(case_id=case.id, department_id=dept_id, text=text, issued_by=ctx.actor.id,
                          issued_at=ctx.now, due_at=due, repeat=earlier + 1, status="open")
    ctx.session.add(row)
    ctx.session.flush()
    return {"supervise_count": case.supervise_count, "supervision_id": row.id, "department_id": dept_id,
            "due_at": due.isoformat(), "repeat": row.repeat}


def _supervision(ctx: Ctx, case: Case, body: ActionIn, status: str, department_id: int | None = None) -> CaseSupervision:
    stmt = select(CaseSupervision).where(CaseSupervision.case_id == case.id, CaseSupervision.status == status)
    if department_id is not None and "admin" not in ctx.actor.roles:
        stmt = stmt.where(CaseSupervision.department_id == department_id)
    if body.supervision_id is not None:
        stmt = stmt.where(CaseSupervision.id == body.supervision_id)
    row = ctx.session.scalar(stmt.order_by(CaseSupervision.id))
    if row is None:
        raise NotFound("supervision-not-found", "没有这张待处理的督办单", "No such supervision order waiting")
    return row


def _reply(ctx: Ctx, case: Case, body: ActionIn, target: str | None) -> dict[str, Any]:
    text = (body.result or body.note or "").strip()
    if not text:
        raise Invalid("reply-required", "督办回复需要填写回复内容（note）", "supervise_reply needs a note")
    row = _supervision(ctx, case, body, "open", ctx.actor.department_id)
    row.status, row.reply, row.replied_by, row.replied_at = "replied", text, ctx.actor.id, ctx.now
    return {"supervision_id": row.id, "department_id": row.department_id, "on_time": ctx.now <= row.due_at}


def _check(accepted: bool) -> Handler:
    def handler(ctx: Ctx, case: Case, body: ActionIn, target: str | None) -> dict[str, Any]:
        row = _supervision(ctx, case, body, "replied")
        row.checked_by, row.checked_at, row.check_note = ctx.actor.id, ctx.now, body.note
        row.status = "closed" if accepted else "open"  # returned: the unit must reply again, same deadline
        return {"supervision_id": row.id, "department_id": row.department_id, "accepted": accepted}

    return handler


def mark_overdue_supervisions(ctx: Ctx) -> int:
    """Record one 督办单超期未回复 event per 督办单 left unanswered past its deadline (the sweep calls it)."""
    rows = list(ctx.session.scalars(select(CaseSupervision).where(
        CaseSupervision.status == "open", CaseSupervision.due_at < ctx.now,
        CaseSupervision.overdue_marked_at.is_(None)).order_by(CaseSupervision.id).limit(500)))
    for row in rows:
        row.overdue_marked_at = ctx.now
        case = ctx.session.get_one(Case, row.case_id)
        svc.record(ctx, case, "supervise_overdue", case.stage,
                   {"supervision_id": row.id, "department_id": row.department_id, "due_at": row.due_at.isoformat()})
    return len(rows)


# --- 结案类型 ---------------------------------------------------------------------------------------------------------

def close_type_of(ctx: Ctx, case: Case, body: ActionIn) -> str:
    """正常/超时/特殊结案: 超时 when a handling run of the department that handled it last ended past its deadline."""
    special = body.close_type == "special"
    if special and not (body.note or "").strip():
        raise Invalid("note-required", "特殊结案需要填写原因（note）", "A special closing needs a note")
    late = ctx.session.scalar(select(CaseNode.id).where(
        CaseNode.case_id == case.id, CaseNode.node == "handle", CaseNode.department_id == case.department_id,
        CaseNode.on_time.is_(False)).limit(1)) is not None
    return close_type(late, special)


HANDLERS: dict[str, Handler] = {
    "send_back_to_lead": _send_back, "send_back_to_operator": _send_back,
    "send_check": _send_check, "assist_report": _assist_report, "supervise": _supervise,
    "supervise_reply": _reply, "supervise_close": _check(True), "supervise_return": _check(False),
}
