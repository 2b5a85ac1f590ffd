"""一屏观全域: the big screen — today's figures, trends, categories, the department ranking, live case markers —
and a Server-Sent Events stream that tells the screen when anything in the case loop has changed."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta, timezone, tzinfo
from typing import Annotated, Any, TypeVarTuple
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response, StreamingResponse
from sqlalchemy import ColumnElement, Integer, Select, case, cast, func, literal_column, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from cityloop.assessment import engine, service, store
from cityloop.assessment.figures import RATES, rate
from cityloop.assessment.periods import parse_period
from cityloop.assessment.pages import fresh
from cityloop.cases.domain import ACTION_NAMES, OPEN_STAGES, ROLE_CN, SOURCE_NAMES, STAGES
from cityloop.cases.models import Case, CaseEvent, CaseNode
from cityloop.cases.queries import district_scoped, timing
from cityloop.catalog.models import Category
from cityloop.deps import ClockDep, OptionalActorDep, SessionDep, SettingsDep, StateDep, require_roles
from cityloop.org.actor import Actor
from cityloop.org.models import Department
from cityloop.shared.errors import Forbidden, Invalid
from cityloop.shared.ids import MAX_ID
from cityloop.http.openapi import file_of
from cityloop.shared.shutdown import pause, stopping
from cityloop.sla.service import calendar
from cityloop.web import pages
from cityloop.config import Settings
from cityloop.sla.domain import WorkCalendar

SCREEN_ROLES = ("leader", "shift_lead", "dispatcher", "operator")
router = APIRouter()
api = APIRouter(prefix="/api/v1/screen", tags=["screen 大屏"])
MAX_MARKERS = 3000
CLUSTER_OVER = 500  # more open cases than this in the viewport: clusters


@router.get("/screen", include_in_schema=False)
def screen_page(request: Request, actor: OptionalActorDep, settings: SettingsDep) -> Response:
    """The big screen (1920×1080, dark)."""
    if actor is None:
        return pages.login_redirect(request)
    if not actor.has(*SCREEN_ROLES, "admin"):  # its data API refuses them too: no empty screen for them
        return pages.refuse(request, actor, Forbidden("role-required", "需要角色：领导/值班长/派遣员/受理员",
                                                      "Requires role: leader, shift lead, dispatcher or operator"))
    return pages.render(request, "cases/screen.html", tile_url=settings.map_tile_url,
                        tile_attribution=settings.map_tile_attribution,
                        poll_ms=int(settings.screen_poll_seconds * 1000))


def _month_start(now: datetime, tz: tzinfo) -> datetime:
    return now.astimezone(tz).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


TODAY_ACTIONS = {"filed": ("file",), "dispatched": ("dispatch",), "closed": ("close", "self_close")}


def _count_events(session: Session, since: datetime, district: str | None = None) -> dict[str, int]:
    """Today's filings, dispatches and closures, counted per action in one read of the (action, at) index."""
    actions = [a for group in TODAY_ACTIONS.values() for a in group]
    stmt = select(CaseEvent.action, func.count(CaseEvent.id)).where(CaseEvent.action.in_(actions),
                                                                    CaseEvent.at >= since)
    if district is not None:
        stmt = stmt.join(Case, Case.id == CaseEvent.case_id).where(Case.handling_district == district)
    per_action = dict(session.execute(stmt.group_by(CaseEvent.action)).tuples().all())
    return {key: sum(per_action.get(a, 0) for a in group) for key, group in TODAY_ACTIONS.items()}


MONTH_RATES = {"closure_rate": "close_rate", "on_time_rate": "handle_on_time_rate"}


def month_rates(session: Session, settings: Settings, now: datetime) -> dict[str, float | None]:
    """This month's 结案率 and 按期处置率, the assessment's own definition over its projection (standards.md §6)."""
    period = parse_period(now.astimezone(ZoneInfo(settings.timezone)).strftime("%Y-%m"))
    cols = store.fetch(session, *service.bounds_ts(settings, period), ("flags", "counts", "pending_ts"))
    needed = tuple({c for name in MONTH_RATES.values() for c in (RATES[name].numerator, *RATES[name].denominators)})
    data = engine.decode(cols, int(now.timestamp()), needed)
    totals: dict[str, int | float] = {name: int(data.counters[name].sum()) for name in needed}
    out: dict[str, float | None] = {}
    for key, name in MONTH_RATES.items():
        value = rate(RATES[name], totals)
        out[key] = None if value is None else round(value, 4)
    return out


VOIDED = ("rejected", "merged", "void")
RUNNING = tuple(sorted(OPEN_STAGES - {"suspended"}))  # stages whose node clock runs


Ts = TypeVarTuple("Ts")
SOURCE_LABELS: dict[str, tuple[str, str]] = dict(SOURCE_NAMES.items())  # by the plain codes the columns hold
STAGE_LABELS: dict[str, tuple[str, str]] = dict(STAGES.items())


def _scoped(stmt: Select[*Ts], district: str | None) -> Select[*Ts]:
    return stmt if district is None else stmt.where(Case.handling_district == district)


def _count_cases(session: Session, district: str | None, *conds: ColumnElement[bool]) -> int:
    return session.scalar(_scoped(select(func.count(Case.id)).where(*conds), district)) or 0


def _count_open(session: Session, district: str | None, now: datetime) -> dict[str, int]:
    """Open cases and, of those whose node clock runs, the overdue ones: one read of the open stages."""
    late = func.sum(case((Case.stage.in_(RUNNING) & (Case.node_due_at < now), 1), else_=0))
    total, overdue = session.execute(_scoped(select(func.count(Case.id), late).where(
        Case.stage.in_(OPEN_STAGES)), district)).one()
    return {"overdue": int(overdue or 0), "open": int(total or 0)}


def summary(session: Session, now: datetime, tz: tzinfo, settings: Settings,
            district: str | None = None) -> dict[str, Any]:
    """Today's figures, this month's rates, a 30-day trend, top categories, sources and the department ranking;
    every figure is a count in the database over an indexed range, so none grows with the case history (a district
    center's staff get their center's cases; the month's rates are the city's projection)."""
    today = now.astimezone(tz).replace(hour=0, minute=0, second=0, microsecond=0)
    month = _month_start(now, tz)
    figures = {
        "reported": _count_cases(session, district, Case.created_at >= today),
        **_count_events(session, today, district),
        **month_rates(session, settings, now),
        **_count_open(session, district, now),
    }
    in_month = Case.created_at >= month
    sources = session.execute(_scoped(select(Case.source, func.count(Case.id)).where(in_month), district)
                              .group_by(Case.source).order_by(func.count(Case.id).desc(), Case.source)).all()
    return {"figures": figures, "trend": _trend(session, today, tz, district=district),
            "categories": _categories(session, month, district),
            "sources": [{"source": s, "name": SOURCE_LABELS.get(s, (s, s))[0], "count": n} for s, n in sources],
            "ranking": _ranking(session, month, district), "version": version(session)}


def _trend(session: Session, today: datetime, tz: tzinfo, days: int = 30,
           district: str | None = None) -> list[dict[str, Any]]:
    """Reported and closed per local day: counted in the database per hour (time zones stay in Python)."""
    since = today - timedelta(days=days - 1)
    reported = _per_day(session, Case.created_at, _scoped(select().where(Case.created_at >= since), district), tz)
    closed_stmt = select().where(CaseEvent.action.in_(("close", "self_close")), CaseEvent.at >= since)
    if district is not None:
        closed_stmt = closed_stmt.join(Case, Case.id == CaseEvent.case_id).where(Case.handling_district == district)
    closed = _per_day(session, CaseEvent.at, closed_stmt, tz)
    dates = [(since + timedelta(days=i)).date() for i in range(days)]
    return [{"date": d.isoformat(), "reported": reported[d], "closed": closed[d]} for d in dates]


def _per_day(session: Session, col: InstrumentedAttribute[datetime], stmt: Select[*tuple[Any, ...]],
             tz: tzinfo) -> Counter[date]:
    """Rows of stmt per local date of col, grouped by UTC hour in SQL (every zone in use is whole or half hours
    from UTC; the half-hour ones fold their hour into the day the hour starts in)."""
    # SQLite holds UTC text "YYYY-MM-DD HH:MM:SS.ffffff": its first 13 characters are the hour, without parsing.
    hour = func.substr(col, 1, 13) if session.get_bind().dialect.name == "sqlite" else \
        func.to_char(func.timezone("UTC", col), "YYYY-MM-DD HH24")
    out: Counter[date] = Counter()
    for key, n in session.execute(stmt.add_columns(hour.label("h"), func.count()).group_by("h")):
        at = datetime.fromisoformat(f"{key}:00").replace(tzinfo=timezone.utc)
        out[at.astimezone(tz).date()] += n
    return out


def _categories(session: Session, month: datetime, district: str | None) -> list[dict[str, Any]]:
    count = func.count(Case.id)
    top = session.execute(_scoped(select(Case.category_code, count).where(
        Case.created_at >= month, Case.stage.notin_(VOIDED)), district)
        .group_by(Case.category_code).order_by(count.desc(), Case.category_code).limit(10)).all()
    names = dict(session.execute(select(Category.code, Category.name).where(
        Category.kind == "matter", Category.code.in_([code for code, _ in top]))).all())
    return [{"code": code, "name": names.get(code, code), "count": n} for code, n in top]


def _ranking(session: Session, month: datetime, district: str | None, minimum: int = 3) -> list[dict[str, Any]]:
    """Departments by this month's on-time handling rate (按期处置率), at least `minimum` cases handled."""
    on_time = func.sum(case((CaseNode.on_time.is_(True), 1), else_=0))
    dept = func.coalesce(CaseNode.department_id, 0)  # grouped on an expression: read by (node, ended_at)
    stmt = (select(dept.label("d"), func.count(CaseNode.id), on_time)
            .where(CaseNode.node == "handle", CaseNode.ended_at >= month)
            .group_by("d").having(func.count(CaseNode.id) >= minimum))
    if district is not None:
        stmt = stmt.join(Case, Case.id == CaseNode.case_id).where(Case.handling_district == district)
    handled = [row for row in session.execute(stmt) if row[0]]
    names = dict(session.execute(select(Department.id, Department.name).where(
        Department.id.in_([d for d, *_ in handled]))).all()) if handled else {}
    rows = [{"department": names.get(d, str(d)), "handled": n, "on_time_rate": round((ok or 0) / n, 4)}
            for d, n, ok in handled]
    return sorted(rows, key=lambda r: (-r["on_time_rate"], -r["handled"]))[:15]


def _open_cases(session: Session, district: str | None,
                bbox: tuple[float, float, float, float] | None) -> Select[Case]:
    is_open: ColumnElement[bool] = Case.stage.in_(OPEN_STAGES)
    if session.get_bind().dialect.name == "sqlite":  # its statistics cannot tell open stages are rare: say so
        is_open = func.likelihood(is_open, literal_column("0.01"))
    stmt = _scoped(select(Case).where(is_open), district)
    if bbox is not None:
        stmt = stmt.where(Case.lon.between(bbox[0], bbox[2]), Case.lat.between(bbox[1], bbox[3]))
    return stmt


def markers(session: Session, now: datetime, cal: WorkCalendar, district: str | None = None,
            bbox: tuple[float, float, float, float] | None = None, limit: int = MAX_MARKERS) -> list[dict[str, Any]]:
    """Open cases for the map with their traffic light (a district center's only, for its staff), newest first,
    those in bbox (min lon, min lat, max lon, max lat) when given."""
    rows = session.scalars(_open_cases(session, district, bbox).order_by(Case.id.desc()).limit(limit)).all()
    names = dict(session.execute(select(Category.code, Category.name).where(
        Category.kind == "matter", Category.code.in_({c.category_code for c in rows}))).all()) if rows else {}
    out: list[dict[str, Any]] = []
    for c in rows:
        _, lamp = timing(c, now, cal)
        out.append({"id": c.id, "number": c.number, "lon": c.lon, "lat": c.lat, "stage": c.stage,
                    "stage_name": STAGE_LABELS[c.stage][0], "category_code": c.category_code,
                    "category_name": names.get(c.category_code, ""), "light": lamp or "grey", "urgent": c.urgent})
    return out


def clusters(session: Session, now: datetime, district: str | None, bbox: tuple[float, float, float, float],
             zoom: int) -> list[dict[str, Any]]:
    """Open cases in bbox counted per grid cell of about 64 screen pixels at this zoom (聚合点), in the database:
    each cell's count, mean position, urgent and overdue counts; `cluster` tells them from single markers."""
    cell = 360 / 2 ** zoom / 4
    sqlite = session.get_bind().dialect.name == "sqlite"
    cx, cy = ((Case.lon - bbox[0]) / cell, (Case.lat - bbox[1]) / cell)
    ix, iy = (cast(cx, Integer), cast(cy, Integer)) if sqlite else (func.floor(cx), func.floor(cy))  # both ≥ 0
    late = func.sum(case(((Case.stage.in_(RUNNING)) & (Case.node_due_at < now), 1), else_=0))
    urgent = func.sum(case((Case.urgent.is_(True), 1), else_=0))
    stmt = _open_cases(session, district, bbox).with_only_columns(
        ix.label("ix"), iy.label("iy"), func.count(Case.id), func.avg(Case.lon), func.avg(Case.lat), urgent, late)
    rows = session.execute(stmt.group_by("ix", "iy").order_by(func.count(Case.id).desc()).limit(MAX_MARKERS)).all()
    return [{"cluster": True, "count": n, "lon": round(lon, 6), "lat": round(lat, 6), "urgent": int(u or 0),
             "overdue": int(o or 0), "light": "red" if o else "grey"} for _, _, n, lon, lat, u, o in rows]


def version(session: Session) -> int:
    """Changes whenever anything happens in the case loop (the newest event id)."""
    return session.scalar(select(func.max(CaseEvent.id))) or 0


def feed_text(actor: str, role: str, action: str, category: str, department: str | None) -> str:
    """One line of the live feed in Chinese: "张三（派遣员） 派遣 井盖缺失 → 市政处"."""
    who = f"{actor}（{ROLE_CN[role]}）" if role in ROLE_CN and actor != ROLE_CN[role] else actor
    text = f"{who} {ACTION_NAMES.get(action, ('更新', 'update'))[0]} {category}"
    return f"{text} → {department}" if action == "dispatch" and department else text


def latest_events(session: Session, after: int, limit: int = 20,
                  district: str | None = None) -> list[dict[str, Any]]:
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
             "text": feed_text(who, role, a, cats.get(cat, "案件"), deps.get(dep) if dep is not None else None)}
            for e, a, at, who, role, cid, num, cat, dep in rows]


Staff = Annotated[Actor, Depends(require_roles(*SCREEN_ROLES))]


@api.get("/summary", response_model=None)
def screen_summary(session: SessionDep, actor: Staff, clock: ClockDep, settings: SettingsDep,
                   state: StateDep) -> dict[str, Any]:
    """大屏指标 / Figures, trend, categories, sources and ranking for the big screen (a district center's own)."""
    fresh(state)  # the same projection the assessment reads, brought up to the event log first
    return summary(session, clock.now(), calendar(session, settings).tz, settings, _district(actor))


@api.get("/markers", response_model=None)
def screen_markers(session: SessionDep, actor: Staff, clock: ClockDep, settings: SettingsDep,
                   bbox: str | None = Query(None, max_length=100, description="min_lon,min_lat,max_lon,max_lat"),
                   zoom: int | None = Query(None, ge=0, le=22), limit: int = Query(MAX_MARKERS, ge=1, le=MAX_MARKERS),
                   cluster_over: int = Query(CLUSTER_OVER, ge=1, le=MAX_MARKERS)) -> list[dict[str, Any]]:
    """在办案件点位 / Open cases with their traffic lights: those in the viewport (bbox) when given; with a zoom, more
    than cluster_over of them come back as grid clusters (`cluster`: true, `count`) counted in the database."""
    now, box, district = clock.now(), _bbox(bbox), _district(actor)
    if box is not None and zoom is not None and (session.scalar(select(func.count()).select_from(
            _open_cases(session, district, box).with_only_columns(Case.id).limit(cluster_over + 1).subquery()))
            or 0) > cluster_over:
        return clusters(session, now, district, box, zoom)
    return markers(session, now, calendar(session, settings), district, box, limit)


def _bbox(text: str | None) -> tuple[float, float, float, float] | None:
    if text is None:
        return None
    try:
        box = tuple(float(v) for v in text.split(","))
    except ValueError:
        box = ()
    if len(box) != 4 or not (-180 <= box[0] <= box[2] <= 180 and -90 <= box[1] <= box[3] <= 90):
        raise Invalid("bad-bbox", "bbox 应为 最小经度,最小纬度,最大经度,最大纬度", "bbox is min_lon,min_lat,max_lon,max_lat")
    return box


@api.get("/events", response_model=None)
def screen_events(session: SessionDep, actor: Staff,
                  after: int = Query(0, ge=0, le=MAX_ID)) -> list[dict[str, Any]]:
    """最新流转 / The newest events of the case loop."""
    return latest_events(session, after, district=_district(actor))


def _district(actor: Actor) -> str | None:
    """A district center's staff see their own cases on the map and in the feed (两级指挥)."""
    return actor.district_code if district_scoped(actor) else None


@api.get("/stream", response_class=StreamingResponse, responses=file_of("text/event-stream"))
async def screen_stream(request: Request, _: Staff, state: StateDep) -> StreamingResponse:
    """实时推送 / Server-Sent Events: a `change` event with the new version whenever the case loop moves."""

    def current() -> int:
        with state.read_session_factory() as session:
            return version(session)

    async def events() -> AsyncIterator[str]:
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
