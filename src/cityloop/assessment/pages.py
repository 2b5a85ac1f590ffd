"""Pages: the public disclosure of department rankings (no login) and the staff console's assessment with a
drill-down from every figure to its cases."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from cityloop.state import AppState
from cityloop.assessment import access, analysis, queries, service, tasks
from cityloop.assessment.figures import KINDS, LABELS, RATES
from cityloop.assessment.models import Publication
from cityloop.assessment.periods import Period, last_month, months_back, parse_period, previous
from cityloop.deps import OptionalActorDep, SessionDep, StateDep
from cityloop.org.actor import Actor
from cityloop.shared.errors import AppError, Forbidden
from cityloop.web import pages
from cityloop.web.menu import menu_for

public = APIRouter(include_in_schema=False)
console = APIRouter(prefix="/console/assessment", include_in_schema=False)


def fresh(state: AppState) -> None:
    """Fold any new events into the projection before a figure is computed."""
    tasks.refresh_once(state.engine, state.session_factory, state.settings, state.clock.now())


def period_or_last(state: AppState, text: str | None) -> Period:
    """The requested period, or last month in the deployment's time zone."""
    if text:
        return service.period_of(text)
    return last_month(state.clock.now().astimezone(ZoneInfo(state.settings.timezone)).date())


def _groups(rows: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    out: dict[str, tuple[str, list[dict[str, Any]]]] = {}
    for row in rows:
        out.setdefault(row["group"], (row["group_name"], []))[1].append(row)
    return [v for _, v in sorted(out.items())]


@public.get("/public/rankings")
def rankings(request: Request, state: StateDep, session: SessionDep, period: str | None = None) -> HTMLResponse:
    """考核排名公示: department rankings by peer group of the latest published period (or the one asked for);
    when nothing was ever published, last month computed live, and the page says so."""
    settings, now = state.settings, state.clock.now()
    published = list(session.scalars(select(Publication).order_by(Publication.period.desc()).limit(60)))
    chosen = next((p for p in published if p.period == period), None) if period else (published[0] if published else None)
    if period and chosen is None:
        return pages.render(request, "assessment/rankings.html", status=404, groups=[], periods=published,
                            label=period, source="missing", published_at=None, districts=[])
    if chosen is not None:
        wanted, rows, source = parse_period(chosen.period), chosen.results["kinds"]["department"], "published"
        districts = chosen.results["kinds"].get("district", [])
    else:
        wanted = last_month(now.astimezone(ZoneInfo(settings.timezone)).date())
        fresh(state)
        computed = service.compute(session, settings, wanted, ["department", "district"], now)[0]
        rows, districts, source = computed["department"], computed["district"], "live"
    # A city (several districts/counties) ranks its 区县 too; a county deployment has one and shows none.
    return pages.render(request, "assessment/rankings.html", groups=_groups(rows), periods=published,
                        districts=districts if len(districts) > 1 else [],
                        label=wanted.label[0], period=wanted.key, source=source,
                        published_at=chosen.published_at if chosen else None)


def _allowed_kinds(actor: Actor) -> list[str]:
    kinds: list[str] = []
    for kind in KINDS:
        try:
            access.own_key(actor, kind)
        except AppError:
            continue
        kinds.append(kind)
    return kinds


@console.get("")
def assessment_page(request: Request, state: StateDep, session: SessionDep, actor: OptionalActorDep,
                    period: str | None = None, kind: str | None = None) -> Response:
    """综合评价: a kind's ranking for a period; every number links to the cases behind it."""
    if actor is None:
        return pages.login_redirect(request)
    kinds = _allowed_kinds(actor)
    kind = kind or (kinds or ["department"])[0]
    today = state.clock.now().astimezone(ZoneInfo(state.settings.timezone)).date()
    context: dict[str, Any] = {"menu": menu_for(actor), "kinds": kinds, "KINDS": KINDS, "LABELS": LABELS,
               "RATES": RATES, "kind": kind, "period": period or "", "error": None,
               "choices": [p for p in reversed(months_back(today, 13))]}
    try:
        service.kind_of(kind)
        own = access.own_key(actor, kind)
        wanted = period_or_last(state, period)
        fresh(state)
        out = service.assessment(session, state.settings, wanted, kind, state.clock.now())
        published_at = datetime.fromisoformat(out["published_at"]) if out["published_at"] else None
        district = access.district_of(actor)
        rows = access.in_district(session, kind, access.only_own(out["rows"], own), district)
        context |= {"out": out, "groups": _groups(rows), "period": wanted.key, "district": district,
                    "previous": previous(wanted).key if wanted.kind in ("month", "quarter", "year") else None,
                    "published_at": published_at,
                    "citywide": actor.has(*access.CITYWIDE) and not district,
                    "publisher": actor.has(*access.PUBLISHERS) and not district}
        if context["citywide"] and kind == "department":
            context["analysis"] = analysis.analysis(session, state.settings, wanted, state.clock.now(), top=5)
    except AppError as exc:
        return pages.render(request, "assessment/console.html", status=exc.status,
                            **context | {"error": exc, "groups": []})
    return pages.render(request, "assessment/console.html", **context)


@console.get("/{kind}/{object_id}/cases")
def drill_page(kind: str, object_id: str, request: Request, state: StateDep, session: SessionDep,
               actor: OptionalActorDep, figure: str | None = None, period: str | None = None,
               page: int = 1) -> Response:
    """指标明细: the cases behind one figure of one object (without a figure: back to the overview)."""
    if actor is None:
        return pages.login_redirect(request)
    if not figure:
        back = {"kind": kind} | ({"period": period} if period else {})
        return RedirectResponse(f"/console/assessment?{urlencode(back)}", status_code=303)
    context: dict[str, Any] = {"menu": menu_for(actor), "LABELS": LABELS, "KINDS": KINDS, "kind": kind, "error": None}
    try:
        service.kind_of(kind)
        own = access.own_key(actor, kind)
        key = service.object_key(kind, object_id)
        if own is not None and key != own:
            raise Forbidden("assessment-scope", "只能查看本人/本部门的明细", "Only your own figures")
        access.check_in_district(session, kind, key, access.district_of(actor))
        wanted = period_or_last(state, period)
        fresh(state)
        page = max(1, min(page, 10_000))
        data = service.cases_behind(session, state.settings, wanted, kind, key, figure, state.clock.now(), page, 50)
        name = queries.objects(session, kind, {key}).names.get(key, object_id)
    except AppError as exc:
        return pages.render(request, "assessment/cases.html", status=exc.status, **context | {"error": exc})
    query = urlencode({"figure": figure, "period": wanted.key})
    return pages.render(request, "assessment/cases.html", **context | {
        "data": data, "object_name": name, "label": wanted.label[0], "query": query,
        "back": f"/console/assessment?{urlencode({'kind': kind, 'period': wanted.key})}"})

