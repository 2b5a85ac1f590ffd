"""Staff console pages: the dashboard (/console), my inbox, the case list, one case (with the actions this user
may take), the 确权 queue and the 督查督办 overview. Pages read through the case queries; every change goes through the JSON API."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityloop.cases import export, queries
from cityloop.cases.domain import NODES, RULES, SOURCE_NAMES, STAGES, TERMINAL
from cityloop.cases.models import Case, CasePhoto, CaseRequest, SavedFilter
from cityloop.catalog.models import Category, FilingCondition
from cityloop.supervision import service as supervision
from cityloop.workorders.models import WorkOrder
from cityloop.config import Settings
from cityloop.deps import ClockDep, OptionalActorDep, SessionDep, SettingsDep
from cityloop.org.actor import Actor
from cityloop.geo.models import DutyGridInspector
from cityloop.org.models import Department, User, UserRole
from cityloop.shared.clock import Clock
from cityloop.shared.errors import AppError, Invalid
from cityloop.sla.domain import WorkCalendar, limit_minutes
from cityloop.sla.service import calendar
from cityloop.web import pages
from cityloop.web.menu import menu_for

router = APIRouter(prefix="/console", include_in_schema=False)
PAGE_SIZE = 30
# Fields each action's form asks for (see cases/schemas.ActionIn); "photos" adds a file picker.
ACTION_FIELDS = {
    "reject": ["note"], "merge": ["target_case", "note"], "verify_ok": ["note", "photos"],
    "verify_fail": ["note", "photos"], "reassign": ["inspector"], "file": ["category_code", "condition_code", "urgent"],
    "refuse": ["note"], "dispatch": ["department_code", "save_rule_level", "note"], "handle": ["result", "photos"],
    "request_return": ["note"], "request_extension": ["extension", "note"], "request_suspension": ["note"],
    "approve": ["note"], "deny": ["note"], "check_ok": ["note", "photos"], "check_fail": ["note", "photos"],
    "void": ["note"], "supervise": ["department_code", "reply_within", "note"], "annotate": ["note"],
    "close": ["close_type", "callback", "rating", "note"], "request_void": ["note"], "deny_void": ["note"],
    "send_back_to_lead": ["note"], "send_back_to_operator": ["note"], "assist_report": ["result"],
    "supervise_reply": ["note"], "supervise_close": ["note"], "supervise_return": ["note"],
    "hand_down": ["note"], "escalate": ["note"],
}


def _page(request: Request, actor: Actor | None, template: str, **context: Any) -> Response:
    if actor is None:
        return pages.login_redirect(request)
    return pages.render(request, template, menu=menu_for(actor), **context)


def _now_cal(session: Session, clock: Clock, settings: Settings) -> tuple[datetime, WorkCalendar]:
    return clock.now(), calendar(session, settings)


@router.get("")
def dashboard(request: Request, session: SessionDep, actor: OptionalActorDep, clock: ClockDep,
              settings: SettingsDep) -> Response:
    """The staff console's start: today's figures and what waits for this user."""
    if actor is None:
        return pages.login_redirect(request)
    now, cal = _now_cal(session, clock, settings)
    items = queries.inbox(session, actor, now, cal)
    return pages.render(request, "cases/index.html", menu=menu_for(actor), items=items[:10], waiting=len(items),
                        figures=dashboard_figures(session, actor, now, cal))


@router.get("/inbox")
def inbox(request: Request, session: SessionDep, actor: OptionalActorDep, clock: ClockDep,
          settings: SettingsDep) -> Response:
    """我的待办: what waits for this user now, most urgent first."""
    if actor is None:
        return pages.login_redirect(request)
    now, cal = _now_cal(session, clock, settings)
    return _page(request, actor, "cases/inbox.html", items=queries.inbox(session, actor, now, cal))


SEARCH_TEXT = ("number", "address", "q", "stage", "category", "department", "source", "grid")


def search_filters(request: Request, tz: tzinfo) -> dict[str, Any]:
    """The case search's filters from the query string; dates are local days (date_to inclusive)."""
    params = request.query_params
    filters: dict[str, Any] = {k: (params.get(k) or "").strip()[:100] or None for k in SEARCH_TEXT}
    filters["overdue"] = True if params.get("overdue") == "true" else None
    for key, bound, shift in (("date_from", "created_from", 0), ("date_to", "created_to", 1)):
        raw = (params.get(key) or "").strip()
        filters[key] = raw or None
        if raw:
            try:
                day = date.fromisoformat(raw)
            except ValueError:
                raise Invalid("bad-date", f"日期格式应为 YYYY-MM-DD：{raw[:20]}", "Dates must be YYYY-MM-DD") from None
            filters[bound] = datetime.combine(day + timedelta(days=shift), time(0), tz)
    return filters


@router.get("/cases")
def cases(request: Request, session: SessionDep, actor: OptionalActorDep, clock: ClockDep, settings: SettingsDep,
          page: int = 1) -> Response:
    """案件查询: the cases this user may see, by number, address, keyword, category, department, stage, source,
    date range and overdue; saved searches; export to Excel."""
    if actor is None:
        return pages.login_redirect(request)
    now, cal = _now_cal(session, clock, settings)
    try:
        filters = search_filters(request, cal.tz)
    except AppError as exc:
        return pages.render(request, "error.html", status=exc.status, menu=menu_for(actor), error=exc)
    page = max(1, min(page, 10_000))
    items, total, capped = queries.list_cases(session, actor, filters, now, page, PAGE_SIZE, cal)
    query = urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "page"])
    return _page(request, actor, "cases/cases.html", items=items, total=total, capped=capped, page=page,
                 size=PAGE_SIZE,
                 filters=filters, stages=STAGES, sources=SOURCE_NAMES, departments=_departments(session),
                 categories=_categories(session), query=query, saved=_saved(session, actor))


@router.get("/cases/export")
def cases_export(request: Request, session: SessionDep, actor: OptionalActorDep, clock: ClockDep,
                 settings: SettingsDep) -> Response:
    """导出 Excel: the case search's result as an .xlsx file (names, not codes)."""
    if actor is None:
        return pages.login_redirect(request)
    now, cal = _now_cal(session, clock, settings)
    data, _ = export.workbook(session, actor, search_filters(request, cal.tz), now, cal.tz)
    name = f"cases-{now.astimezone(cal.tz):%Y%m%d-%H%M}.xlsx"
    return Response(data, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


@router.get("/cases/export.csv")
def cases_export_csv(request: Request, session: SessionDep, actor: OptionalActorDep, clock: ClockDep,
                     settings: SettingsDep) -> Response:
    """导出 CSV: the case search's result with the 11-digit 事项代码, for exchange with other systems."""
    if actor is None:
        return pages.login_redirect(request)
    now, cal = _now_cal(session, clock, settings)
    text, _ = export.csv_text(session, actor, search_filters(request, cal.tz), now, cal.tz)
    name = f"cases-{now.astimezone(cal.tz):%Y%m%d-%H%M}.csv"
    return Response(text.encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


def _saved(session: Session, actor: Actor) -> list[SavedFilter]:
    return list(session.scalars(select(SavedFilter).where(SavedFilter.user_id == actor.id).order_by(SavedFilter.name)))


def _categories(session: Session) -> list[tuple[str, str]]:
    """(code, name) of every category in use, for the search's picker."""
    rows = session.execute(select(Category.code, Category.name).order_by(Category.code)).all()
    seen: dict[str, str] = {}
    for code, name in rows:
        seen.setdefault(code, name)
    return list(seen.items())


@router.get("/ownership")
def ownership(request: Request, session: SessionDep, actor: OptionalActorDep, clock: ClockDep,
              settings: SettingsDep) -> Response:
    """确权 queue: filed cases whose owner is not settled (属地兜底 suggested)."""
    if actor is None:
        return pages.login_redirect(request)
    now, cal = _now_cal(session, clock, settings)
    rows = list(session.scalars(queries.visible(select(Case), session, actor).where(
        Case.needs_ownership.is_(True), Case.stage == "filed").order_by(Case.node_due_at).limit(200)))
    items = queries.list_out(session, rows, actor, now, cal)
    return _page(request, actor, "cases/ownership.html", items=items)


@router.get("/cases/{ident}")
def case_page(ident: str, request: Request, session: SessionDep, actor: OptionalActorDep, clock: ClockDep,
              settings: SettingsDep) -> Response:
    """One case: map, photos, timeline, node deadlines and the actions this user may take."""
    if actor is None:
        return pages.login_redirect(request)
    try:
        context = case_context(session, actor, ident, *_now_cal(session, clock, settings))
    except AppError as exc:
        return pages.render(request, "error.html", status=exc.status, menu=menu_for(actor), error=exc)
    return _page(request, actor, "cases/case.html", **context)


@router.get("/cases/{ident}/panel")
def case_panel(ident: str, request: Request, session: SessionDep, actor: OptionalActorDep, clock: ClockDep,
               settings: SettingsDep) -> Response:
    """The case page's body alone, for refreshing it after an action."""
    if actor is None:
        return pages.login_redirect(request)
    context = case_context(session, actor, ident, *_now_cal(session, clock, settings))
    return pages.render(request, "cases/_case_panel.html", **context)


def case_context(session: Session, actor: Actor, ident: str, now: datetime, cal: WorkCalendar) -> dict[str, Any]:
    """Everything the case page shows."""
    case = queries.get_visible(session, actor, ident)
    out = queries.to_out(session, case, actor, now, cal)
    photos = list(session.scalars(select(CasePhoto).where(CasePhoto.case_id == case.id).order_by(CasePhoto.id)))
    context: dict[str, Any] = {
        "case": out, "events": queries.events(session, case), "nodes": queries.nodes(session, case),
        "photos": photos, "can_publish": actor.has("operator", "shift_lead", "admin"),
        "fields": ACTION_FIELDS, "node_names": NODES, "names": {action: rule.name for action, rule in RULES.items()}}
    context["supervisions"], context["assists"] = supervision.for_case(session, now, case.id)
    context["workorder_no"] = session.scalar(select(WorkOrder.external_no).where(WorkOrder.case_id == case.id))
    if case.pending_request:
        context["pending"] = session.scalar(select(CaseRequest).where(CaseRequest.case_id == case.id,
                                                                      CaseRequest.status == "pending"))
    if "file" in out.actions:
        context["now_iso"] = now.isoformat()
        context["conditions"] = [(c, _limit_text(c, cal.day_minutes)) for c in session.scalars(
            select(FilingCondition).where(FilingCondition.category_id == case.category_id)
            .order_by(FilingCondition.position))]
    if "dispatch" in out.actions:
        context["departments"] = _departments(session)
    if "reassign" in out.actions:
        context["inspectors"] = _inspectors(session, case.duty_grid_code)
    return context


def _limit_text(cond: FilingCondition, day_minutes: int) -> str:
    minutes = limit_minutes(cond.limit_value, cond.limit_unit, cond.urgent, day_minutes)
    unit = {"m": "分钟", "h": "工作小时", "d": "工作日"}[cond.limit_unit]
    return f"{cond.limit_value}{'小时' if cond.urgent and cond.limit_unit == 'h' else unit}" + (
        f"（紧急，连续 {minutes} 分钟）" if cond.urgent else "")


def _departments(session: Session) -> list[Department]:
    return list(session.scalars(select(Department).where(Department.active.is_(True))
                                .order_by(Department.group, Department.code)))


def _inspectors(session: Session, duty_grid: str | None) -> list[tuple[str, str, bool]]:
    """(username, name, patrols this duty grid) for every inspector, this grid's first."""
    own = set(session.scalars(select(DutyGridInspector.user_id).where(DutyGridInspector.duty_grid_code == duty_grid)))
    rows = session.execute(select(User.id, User.username, User.display_name).join(UserRole)
                           .where(UserRole.role == "inspector", User.active.is_(True)).order_by(User.username))
    return sorted(((u, n, i in own) for i, u, n in rows), key=lambda r: (not r[2], r[0]))


def dashboard_figures(session: Session, actor: Actor, now: datetime, cal: WorkCalendar) -> dict[str, int | None]:
    """Today's figures for the dashboard: reported, closed and open overdue cases the user may see."""
    day_start = now.astimezone(cal.tz).replace(hour=0, minute=0, second=0, microsecond=0)
    base = queries.visible(select(func.count(Case.id)), session, actor)
    return {
        "reported_today": session.scalar(base.where(Case.created_at >= day_start)),
        "closed_today": session.scalar(base.where(Case.closed_at >= day_start, Case.stage == "closed")),
        "open": session.scalar(base.where(Case.stage.notin_(("closed", "rejected", "merged", "void")))),
        "overdue": session.scalar(base.where(Case.node_due_at < now, Case.stage != "suspended",
                                             Case.node.is_not(None))),
        "week": session.scalar(base.where(Case.created_at >= day_start - timedelta(days=7))),
    }


@router.get("/overview")
def overview(request: Request, session: SessionDep, actor: OptionalActorDep, clock: ClockDep,
             settings: SettingsDep) -> Response:
    """督查督办: overdue and supervised open cases, and which departments have the most overdue."""
    if actor is None:
        return pages.login_redirect(request)
    now, cal = _now_cal(session, clock, settings)
    open_cases = queries.visible(select(Case), session, actor).where(Case.stage.notin_(TERMINAL))
    overdue = list(session.scalars(open_cases.where(Case.node_due_at < now, Case.stage != "suspended")
                                   .order_by(Case.node_due_at).limit(200)))
    supervised = list(session.scalars(open_cases.where(Case.supervise_count > 0).order_by(Case.node_due_at).limit(200)))
    names = dict(session.execute(select(Department.id, Department.name)).all())
    by_department = Counter(names.get(c.department_id or 0, "—") for c in overdue if c.stage == "dispatched")
    return _page(request, actor, "cases/overview.html",
                 overdue=queries.list_out(session, overdue, actor, now, cal),
                 supervised=queries.list_out(session, supervised, actor, now, cal),
                 by_department=by_department.most_common(10))
