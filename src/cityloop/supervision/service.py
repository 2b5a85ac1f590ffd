"""督办单 and 协办 lists for the API: what a department owes, what is overdue, and the helpers' figures."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from cityloop.cases.api import Case, CaseAssist, CaseSupervision
from cityloop.org.actor import Actor
from cityloop.org.domain import CITYWIDE_ROLES
from cityloop.org.models import Department
from cityloop.shared.errors import Forbidden, Invalid
from cityloop.supervision import domain

LIMIT = 500


def scope(session: Session, actor: Actor, department: str | None) -> int | None:
    """The department a list is about: a department user's own; citywide staff any (None = all)."""
    if actor.has(*CITYWIDE_ROLES):
        if not department:
            return None
        dept_id = session.scalar(select(Department.id).where(Department.code == department))
        if dept_id is None:
            raise Invalid("unknown-department", f"未知部门：{department}", f"Unknown department {department}")
        return dept_id
    if "department" in actor.roles and actor.department_id is not None:
        return actor.department_id
    raise Forbidden("forbidden", "只有专业部门和指挥中心人员可以查看督办单与协办任务",
                    "Only departments and centre staff see supervision orders and helper tasks")


def _codes(session: Session) -> dict[int, str]:
    return dict(session.execute(select(Department.id, Department.code)).all())


def _departments(session: Session, ids: set[int | None]) -> dict[int, tuple[str, str]]:
    """(code, name) of just these departments: one query, never the whole table."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = session.execute(select(Department.id, Department.code, Department.name).where(Department.id.in_(wanted)))
    return {i: (code, name) for i, code, name in rows}


def supervisions(session: Session, actor: Actor, now: datetime, department: str | None, status: str | None,
                 overdue: bool) -> list[dict[str, Any]]:
    """督办单, newest deadline last; `overdue` keeps those unanswered past their deadline."""
    dept_id = scope(session, actor, department)
    stmt = select(CaseSupervision, Case.number).join(Case, Case.id == CaseSupervision.case_id)
    if dept_id is not None:
        stmt = stmt.where(CaseSupervision.department_id == dept_id)
    if status:
        stmt = stmt.where(CaseSupervision.status == status)
    if overdue:
        stmt = stmt.where(CaseSupervision.status == "open", CaseSupervision.due_at < now)
    return _supervisions_out(session, stmt, now)


def assists(session: Session, actor: Actor, now: datetime, department: str | None, status: str | None,
            case_id: int | None = None) -> list[dict[str, Any]]:
    """协办任务 (a helper department's part of a case), oldest deadline first; one case's with case_id."""
    dept_id = scope(session, actor, department)
    stmt = select(CaseAssist, Case.number, Case.department_id).join(Case, Case.id == CaseAssist.case_id)
    if case_id is not None:
        stmt = stmt.where(CaseAssist.case_id == case_id)
        if "department" in actor.roles and not actor.has(*CITYWIDE_ROLES):
            # the lead department (主办) sees its helpers' tasks on its own case
            lead = session.scalar(select(Case.department_id).where(Case.id == case_id))
            dept_id = None if lead == actor.department_id else dept_id
    if dept_id is not None:
        stmt = stmt.where(CaseAssist.department_id == dept_id)
    if status:
        stmt = stmt.where(CaseAssist.status == status)
    return _assists_out(session, stmt, now)


def for_case(session: Session, now: datetime, case_id: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A case's 督办单 and 协办任务, for whoever may see the case itself (its page)."""
    sup = select(CaseSupervision, Case.number).join(Case, Case.id == CaseSupervision.case_id).where(
        CaseSupervision.case_id == case_id)
    ass = select(CaseAssist, Case.number, Case.department_id).join(Case, Case.id == CaseAssist.case_id).where(
        CaseAssist.case_id == case_id)
    return _supervisions_out(session, sup, now), _assists_out(session, ass, now)


def _supervisions_out(session: Session, stmt: Select[CaseSupervision, str], now: datetime) -> list[dict[str, Any]]:
    rows = session.execute(stmt.order_by(CaseSupervision.due_at, CaseSupervision.id).limit(LIMIT)).all()
    depts = _departments(session, {row.department_id for row, _ in rows})
    none: tuple[str | None, str | None] = (None, None)
    out = []
    for row, number in rows:
        code, name = depts.get(row.department_id, none)
        out.append({"id": row.id, "case_id": row.case_id, "case_number": number,
                    "department_code": code, "department_name": name, "text": row.text, "issued_at": row.issued_at,
                    "due_at": row.due_at, "repeat": row.repeat, "status": row.status,
                    "status_name": domain.SUPERVISION_STATUSES[row.status][0], "reply": row.reply,
                    "replied_at": row.replied_at, "checked_at": row.checked_at, "check_note": row.check_note,
                    "overdue": domain.supervision_overdue(row.status, row.due_at, row.replied_at, now)})
    return out


def _assists_out(session: Session, stmt: Select[CaseAssist, str, int | None], now: datetime) -> list[dict[str, Any]]:
    rows = session.execute(stmt.order_by(CaseAssist.due_at, CaseAssist.id).limit(LIMIT)).all()
    ids: set[int | None] = {lead for _, _, lead in rows}
    ids.update(a.department_id for a, _, _ in rows)
    depts = _departments(session, ids)
    none: tuple[str | None, str | None] = (None, None)
    return [{"id": a.id, "case_id": a.case_id, "case_number": number,
             "department_code": depts.get(a.department_id, none)[0],
             "department_name": depts.get(a.department_id, none)[1],
             "lead_department_code": depts.get(lead, none)[0] if lead is not None else None, "task": a.task,
             "created_at": a.created_at, "due_at": a.due_at,
             "status": a.status, "status_name": domain.ASSIST_STATUSES[a.status][0], "result": a.result,
             "done_at": a.done_at, "on_time": a.on_time, "overdue": a.status == "open" and now > a.due_at}
            for a, number, lead in rows]


def figures(session: Session, actor: Actor, now: datetime, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Per department: 协办 figures of tasks given, and 督办单 figures of orders issued, in [start, end)."""
    if end <= start:
        raise Invalid("bad-range", "结束时间必须晚于开始时间", "end must be after start")
    dept_id = scope(session, actor, None)
    tasks: dict[int, list[tuple[str, bool | None]]] = {}
    helpers = select(CaseAssist.department_id, CaseAssist.status, CaseAssist.on_time).where(
        CaseAssist.created_at >= start, CaseAssist.created_at < end)
    for dept, status, on_time in session.execute(helpers):
        tasks.setdefault(dept, []).append((status, on_time))
    orders: dict[int, list[tuple[str, datetime, datetime | None, int]]] = {}
    issued = select(CaseSupervision.department_id, CaseSupervision.status, CaseSupervision.due_at,
                  CaseSupervision.replied_at, CaseSupervision.repeat).where(
        CaseSupervision.issued_at >= start, CaseSupervision.issued_at < end)
    for dept, status, due_at, replied_at, repeat in session.execute(issued):
        orders.setdefault(dept, []).append((status, due_at, replied_at, repeat))
    codes = _codes(session)
    out = []
    for dept in sorted(set(tasks) | set(orders)):
        if dept_id is not None and dept != dept_id:
            continue
        a = domain.assist_figures(tasks.get(dept, []))
        s = domain.supervision_figures(orders.get(dept, []), now)
        out.append({"department_code": codes.get(dept), "assist_due": a.due, "assist_done": a.done,
                    "assist_on_time": a.on_time, "assist_unfinished": a.lapsed, "assist_on_time_rate": a.on_time_rate,
                    "supervisions": s.issued, "supervisions_unanswered": s.unanswered,
                    "supervisions_repeated": s.repeated, "supervision_unanswered_rate": s.unanswered_rate})
    return out
