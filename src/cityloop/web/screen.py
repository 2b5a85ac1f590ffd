"""一屏观全域: the big screen — today's figures, trends, categories, the department ranking, live case markers —
and a Server-Sent Events stream that tells the screen when anything in the case loop has changed."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityloop.assessment import engine, service, store
from cityloop.assessment.figures import RATES, rate
from cityloop.assessment.periods import parse_period
from cityloop.assessment.pages import fresh
from cityloop.cases.domain import ACTION_NAMES, ROLE_CN, SOURCE_NAMES, STAGES, TERMINAL
from cityloop.cases.models import Case, CaseEvent, CaseNode
from cityloop.cases.queries import district_scoped, timing
from cityloop.catalog.models import Category
from cityloop.deps import get_session, optional_actor, require_roles
from cityloop.org.actor import Actor
from cityloop.org.models import Department
from cityloop.shared.errors import Forbidden
from cityloop.shared.ids import MAX_ID
from cityloop.http.openapi import file_of
from cityloop.shared.shutdown import pause, stopping
from cityloop.sla.service import calendar
from cityloop.web import pages

SCREEN_ROLES = ("leader", "shift_lead", "dispatcher", "operator")
router = APIRouter()
api = APIRouter(prefix="/api/v1/screen", tags=["screen 大屏"])
MAX_MARKERS = 3000


@router.get("/screen", include_in_schema=False)
def screen_page(request: Request, actor: Actor | None = Depends(optional_actor)):
    """The big screen (1920×1080, dark)."""
    if actor is None:
        return pages.login_redirect(request)
    if not actor.has(*SCREEN_ROLES, "admin"):  # its data API refuses them too: no empty screen for them
        return pages.refuse(request, actor, Forbidden("role-required", "需要角色：领导/值班长/派遣员/受理员",
                                                      "Requires role: leader, shift lead, dispatcher or operator"))
    settings = request.app.state.settings
    return pages.render(request, "screen.html", tile_url=settings.map_tile_url,
                        tile_attribution=settings.map_tile_attribution,
                        poll_ms=int(settings.screen_poll_seconds * 1000))


def _month_start(now: datetime, tz) -> datetime:
    return now.astimezone(tz).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _count_events(session: Session, actions: tuple[str, ...], since: datetime) -> int:
    return session.scalar(select(func.count(CaseEvent.id)).where(CaseEvent.action.in_(actions),
                                                                  CaseEvent.at >= since)) or 0


MONTH_RATES = {"closure_rate": "close_rate", "on_time_rate": "handle_on_time_rate"}


def month_rates(session: Session, settings, now: datetime) -> dict[str, float | None]:
    """This month's 结案率 and 按期处置率, the assessment's own definition over its projection (standards.md §6)."""
    period = parse_period(now.astimezone(ZoneInfo(settings.timezone)).strftime("%Y-%m"))
    cols = store.fetch(session, *service.bounds_ts(settings, period), ("flags", "counts", "pending_ts"))
    needed = tuple({c for name in MONTH_RATES.values() for c in (RATES[name].numerator, *RATES[name].denominators)})
    data = engine.decode(cols, int(now.timestamp()), needed)
    totals = {name: int(data.counters[name].sum()) for name in needed}
    out = {}
    for key, name in MONTH_RATES.items():
        value = rate(RATES[name], totals)
        out[key] = None if value is None else round(value, 4)
    return out


def summary(session: Session, now: datetime, tz, settings) -> dict:
    """Today's figures, this month's rates, a 30-day trend, top categories, sources and the department ranking."""
    today = now.astimezone(tz).replace(hour=0, minute=0, second=0, microsecond=0)
    month = _month_start(now, tz)
    month_cases = session.execute(select(Case.stage, Case.category_code, Case.source).where(Case.created_at >= month)).all()
    valid = [c for c in month_cases if c.stage not in ("rejected", "merged", "void")]
    handled = session.execute(select(CaseNode.department_id, CaseNode.on_time).where(
        CaseNode.node == "handle", CaseNode.ended_at >= month)).all()
    figures = {
        "reported": session.scalar(select(func.count(Case.id)).where(Case.created_at >= today)) or 0,
        "filed": _count_events(session, ("file",), today),
        "dispatched": _count_events(session, ("dispatch",), today),
        "closed": _count_events(session, ("close", "self_close"), today),
        **month_rates(session, settings, now),
        "overdue": session.scalar(select(func.count(Case.id)).where(
            Case.node_due_at < now, Case.stage.notin_(TERMINAL | {"suspended"}))) or 0,
        "open": session.scalar(select(func.count(Case.id)).where(Case.stage.notin_(TERMINAL))) or 0,
    }
    return {"figures": figures, "trend": _trend(session, today, tz), "categories": _categories(session, valid),
            "sources": [{"source": s, "name": SOURCE_NAMES.get(s, (s, s))[0], "count": n}
                        for s, n in Counter(c.source for c in month_cases).most_common()],
            "ranking": _ranking(session, handled), "version": version(session)}


def _trend(session: Session, today: datetime, tz, days: int = 30) -> list[dict]:
    since = today - timedelta(days=days - 1)
    reported = Counter(t.astimezone(tz).date() for t in session.scalars(select(Case.created_at).where(Case.created_at >= since)))
    closed = Counter(t.astimezone(tz).date() for t in session.scalars(select(CaseEvent.at).where(
        CaseEvent.action.in_(("close", "self_close")), CaseEvent.at >= since)))
    dates = [(since + timedelta(days=i)).date() for i in range(days)]
    return [{"date": d.isoformat(), "reported": reported[d], "closed": closed[d]} for d in dates]


def _categories(session: Session, valid: list) -> list[dict]:
    top = Counter(c.category_code for c in valid).most_common(10)
    names = dict(session.execute(select(Category.code, Category.name).where(
        Category.kind == "matter", Category.code.in_([code for code, _ in top]))).all())
    return [{"code": code, "name": names.get(code, code), "count": n} for code, n in top]


def _ranking(session: Session, handled: list, minimum: int = 3) -> list[dict]:
    """Departments by this month's on-time handling rate (按期处置率), at least `minimum` cases handled."""
    totals, on_time = Counter(d for d, _ in handled), Counter(d for d, ok in handled if ok)
    names = dict(session.execute(select(Department.id, Department.name)).all())
    rows = [{"department": names.get(d, str(d)), "handled": n, "on_time_rate": round(on_time[d] / n, 4)}
            for d, n in totals.items() if d is not None and n >= minimum]
    return sorted(rows, key=lambda r: (-r["on_time_rate"], -r["handled"]))[:15]


def markers(session: Session, now: datetime, cal, district: str | None = None) -> list[dict]:
    """Open cases for the map with their traffic light (a district center's only, for its staff)."""
    stmt = select(Case).where(Case.stage.notin_(TERMINAL))
    if district is not None:
        stmt = stmt.where(Case.handling_district == district)
    rows = session.scalars(stmt.order_by(Case.id.desc()).limit(MAX_MARKERS)).all()
    names = dict(session.execute(select(Category.code, Category.name).where(
        Category.kind == "matter", Category.code.in_({c.category_code for c in rows}))).all()) if rows else {}
    out = []
    for c in rows:
        _, lamp = timing(c, now, cal)
        out.append({"id": c.id, "number": c.number, "lon": c.lon, "lat": c.lat, "stage": c.stage,
                    "stage_name": STAGES[c.stage][0], "category_code": c.category_code,
                    "category_name": names.get(c.category_code, ""), "light": lamp or "grey", "urgent": c.urgent})
    return out


def version(session: Session) -> int:
    """Changes whenever anything happens in the case loop (the newest event id)."""
    return session.scalar(select(func.max(CaseEvent.id))) or 0


def feed_text(actor: str, role: str, action: str, category: str, department: str | None) -> str:
    """One line of the live feed in Chinese: "张三（派遣员） 派遣 井盖缺失 → 市政处"."""
    who = f"{actor}（{ROLE_CN[role]}）" if role in ROLE_CN and actor != ROLE_CN[role] else actor
    text = f"{who} {ACTION_NAMES.get(action, ('更新', 'update'))[0]} {category}"
    return f"{text} → {department}" if action == "dispatch" and department else text


def latest_events(session: Session, after: int, limit: int = 20, district: str | None = None) -> list[dict]:
    """The newest events (after an event id), for the live feed, each with its line of Chinese text."""
    stmt = (select(CaseEvent.id, CaseEvent.action, CaseEvent.at, CaseEvent.actor_name, CaseEvent.actor_role, Case.id,
                   Case.number, Case.category_code, Case.department_id)
            .join(Case, Case.id == CaseEvent.case_id).where(CaseEvent.id > after))
    if district is not None:
        stmt = stmt.where(Case.handling_district == district)
    rows = session.execute(stmt.order_by(CaseEvent.id.desc()).limit(limit)).all()
    cats = dict(session.execute(select(Category.code, Category.name).where(
        Category.kind == "matter", Category.code.in_({r[7] for r in rows}))).all()) if rows else {}
    deps = dict(session.execute(select(Department.id, Department.name).where(
        Department.id.in_({r[8] for r in rows if r[8]}))).all()) if rows else {}
    return [{"event_id": e, "action": a, "action_name": ACTION_NAMES.get(a, ("更新", "update"))[0],
             "at": at.isoformat(), "actor": who, "actor_role": ROLE_CN.get(role, ""), "case_id": cid, "number": num,
             "category_code": cat, "category_name": cats.get(cat, ""),
             "text": feed_text(who, role, a, cats.get(cat, "案件"), deps.get(dep))}
            for e, a, at, who, role, cid, num, cat, dep in rows]


staff = Depends(require_roles(*SCREEN_ROLES))


@api.get("/summary")
def screen_summary(request: Request, session: Session = Depends(get_session), _: Actor = staff):
    """大屏指标 / Figures, trend, categories, sources and ranking for the big screen."""
    settings = request.app.state.settings
    fresh(request)  # the same projection the assessment reads, brought up to the event log first
    return summary(session, request.app.state.clock.now(), calendar(session, settings).tz, settings)


@api.get("/markers")
def screen_markers(request: Request, session: Session = Depends(get_session), actor: Actor = staff):
    """在办案件点位 / Open cases with their traffic lights."""
    return markers(session, request.app.state.clock.now(), calendar(session, request.app.state.settings),
                   _district(actor))


@api.get("/events")
def screen_events(after: int = Query(0, ge=0, le=MAX_ID), session: Session = Depends(get_session),
                  actor: Actor = staff):
    """最新流转 / The newest events of the case loop."""
    return latest_events(session, after, district=_district(actor))


def _district(actor: Actor) -> str | None:
    """A district center's staff see their own cases on the map and in the feed (两级指挥)."""
    return actor.district_code if district_scoped(actor) else None


@api.get("/stream", response_class=StreamingResponse, responses=file_of("text/event-stream"))
async def screen_stream(request: Request, _: Actor = staff):
    """实时推送 / Server-Sent Events: a `change` event with the new version whenever the case loop moves."""
    state = request.app.state

    def current() -> int:
        with state.read_session_factory() as session:
            return version(session)

    async def events():
        last, quiet = -1, 0.0
        while not stopping() and not await request.is_disconnected():  # a stopping server ends the stream
            now = await run_in_threadpool(current)
            if now != last:
                last, quiet = now, 0.0
                yield f"event: change\ndata: {json.dumps({'version': now})}\n\n"
            elif quiet >= 15:
                quiet = 0.0
                yield ": keep-alive\n\n"
            if await pause(state.settings.screen_poll_seconds):
                break
            quiet += state.settings.screen_poll_seconds

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
