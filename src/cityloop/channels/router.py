"""Channel endpoints: 拍一拍 public reports and their status, geocoding, nearby cases and duplicates, photo evidence,
category suggestions, inspector position pings and patrol figures, cameras. Integrations (video, 上级交办) are in
integrations.py and the pages in pages.py."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import shapely

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlalchemy import select

from cityloop.cases.api import (
    duty_grids_of, scoped_key, get_visible,
)
from cityloop.catalog.models import Category
from cityloop.channels import evidence, http, patrol, public, queries, video
from cityloop.channels.review import queue as review_queue
from cityloop.channels.domain import PUBLIC_STAGES
from cityloop.channels.router_integrations import router as integrations_router
from cityloop.channels.models import Camera
from cityloop.channels.pages import router as pages_router
from cityloop.channels.schemas import (CameraIn, CameraOut, CategorySuggestion, EvidenceOut, NearbyCase,
                                       PatrolOut, PingsIn, PublicReportIn, PublicReportOut, PublicStatusOut, RatingIn)
from cityloop.channels.service import channel_actor
from cityloop.deps import ActorDep, AdminDep, ClockDep, GridIndexDep, SessionDep, SettingsDep, StateDep, require_roles
from cityloop.org.actor import Actor
from cityloop.geo.models import UnitGrid
from cityloop.shared.errors import Forbidden, Invalid
from cityloop.http.problems import wants_english
from cityloop.shared.fields import Day

router = APIRouter(tags=["channels 上报渠道"])
extra_routers = [integrations_router, pages_router]
STAFF = ("operator", "shift_lead", "dispatcher", "leader", "inspector")
StaffDep = Annotated[Actor, Depends(require_roles(*STAFF))]
IDEMPOTENCY_DOC = {"parameters": [{"name": "Idempotency-Key", "in": "header", "required": False,
                                   "schema": {"type": "string", "maxLength": 128}}]}


def _key(request: Request) -> str | None:
    key = request.headers.get("idempotency-key")
    if key is not None and not (0 < len(key) <= 128):
        raise Invalid("bad-idempotency-key", "Idempotency-Key 长度应为 1–128", "Idempotency-Key must be 1–128 chars")
    # Anonymous callers: the key is scoped to the client address, so nobody can replay another citizen's key.
    return scoped_key(f"public:{http.client_ip(request)}", key) if key else None


@router.post("/api/v1/channels/public/reports", response_model=PublicReportOut, status_code=201,
             openapi_extra=IDEMPOTENCY_DOC)
async def public_report(request: Request, session: SessionDep, state: StateDep, index: GridIndexDep) -> Response:
    """拍一拍上报 / A citizen's report (multipart: fields or a `data` JSON, and 1–6 `photos`); returns a tracking code."""
    with state.read_session_factory() as reads:  # the cheapest refusal first: before the photos are read
        public.refuse_if_limited(reads, state.settings, http.client_ip(request), state.clock.now())
    raw, photos = await http.read_body(request, state.settings, "photos", state.settings.max_photos)
    body = http.validate(PublicReportIn, raw)
    key, locate = _key(request), index.locate

    def run() -> Response:
        with state.read_session_factory() as reads:
            ctx = http.make_ctx(state, session, channel_actor("public"), photos, reads)
            row, case, created = public.create(ctx, body, locate, key, http.client_ip(request))
            http.save_photos(ctx)  # only an accepted report writes its photos
            category = reads.get(Category, case.category_id)
        out = PublicReportOut(tracking_code=row.tracking_code, status_url=f"/m/report/status/{row.tracking_code}",
                              stage_name=PUBLIC_STAGES[case.stage][int(wants_english(request))],
                              category_name=category.name if category else "",
                              category_guessed=row.category_guessed, created=created)
        return Response(out.model_dump_json(), status_code=201 if created else 200, media_type="application/json")

    return await run_in_threadpool(run)


@router.get("/api/v1/channels/public/reports/{code}", response_model=PublicStatusOut)
def public_status(code: str, request: Request, session: SessionDep) -> PublicStatusOut:
    """上报进度 / The public status of a report by its tracking code."""
    return public.status(session, code, wants_english(request))


@router.post("/api/v1/channels/public/reports/{code}/rating", response_model=PublicStatusOut)
def public_rating(code: str, body: RatingIn, session: SessionDep, state: StateDep) -> PublicStatusOut:
    """满意度评价 / Rate the handling once, after the case is closed."""
    ctx = http.make_ctx(state, session, channel_actor("public"))
    return public.rate(ctx, code, body.rating)


@router.get("/api/v1/channels/public/categories", response_model=None)
def public_categories(session: SessionDep, settings: SettingsDep) -> list[dict[str, str | None]]:
    """可选问题类别 / The matters a citizen may pick from (code, name, major class)."""
    rows = session.execute(select(Category.code, Category.name, Category.major_name).where(
        Category.standard == settings.catalog_standard, Category.kind == "matter",
        Category.active.is_(True)).order_by(Category.code))
    return [{"code": c, "name": n, "major_name": m} for c, n, m in rows]


@router.get("/api/v1/channels/public/area", response_model=None)
def public_area(index: GridIndexDep) -> dict[str, list[float] | None]:
    """服务范围 / The bounding box and centre of the covered unit grids, for the report map."""
    if not len(index):
        return {"bbox": None, "center": None}
    minx, miny, maxx, maxy = shapely.total_bounds(index.geoms)
    return {"bbox": [minx, miny, maxx, maxy], "center": [(minx + maxx) / 2, (miny + maxy) / 2]}


@router.get("/api/v1/channels/nearby", response_model=list[NearbyCase])
def nearby(session: SessionDep, actor: StaffDep, clock: ClockDep, lon: float = Query(..., ge=-180, le=180),
           lat: float = Query(..., ge=-90, le=90),
           category_code: str | None = Query(None, max_length=8, pattern=r"^[0-9A-Za-z]*$"),
           radius_m: float = Query(200, gt=0, le=5000), hours: float = Query(168, gt=0, le=24 * 90)
           ) -> list[NearbyCase]:
    """附近未办结案件 / Open cases near a point (shown before a hotline report is saved); only cases the caller may
    see (an inspector: his duty grids')."""
    since = clock.now() - timedelta(hours=hours)
    return queries.nearby_open(session, lon, lat, radius_m, since, category_code or None, actor=actor)


@router.get("/api/v1/channels/cases/{ident}/duplicates", response_model=list[NearbyCase])
def case_duplicates(ident: str, session: SessionDep, actor: StaffDep, s: SettingsDep) -> list[NearbyCase]:
    """疑似重复 / Earlier open cases of the same matter nearby: candidates to merge this case into."""
    return queries.duplicates(session, get_visible(session, actor, ident), s.duplicate_radius_m,
                              s.duplicate_window_hours, actor)


@router.get("/api/v1/channels/cases/{ident}/evidence", response_model=list[EvidenceOut])
def case_evidence(ident: str, request: Request, session: SessionDep,
                  actor: Annotated[Actor, Depends(require_roles(*STAFF, "department"))],
                  state: StateDep) -> list[EvidenceOut]:
    """照片核验 / EXIF time and place of each photo against the case, and photos reused from other cases."""
    case = get_visible(session, actor, ident)
    with state.session_factory() as writes:  # photos not checked yet are checked now; read back what was written
        evidence.examine(writes, state.settings, state.clock.now(), [case.id])
        return queries.evidence(writes, case, wants_english(request))


@router.get("/api/v1/channels/categories/suggest", response_model=list[CategorySuggestion])
def suggest(session: SessionDep, actor: ActorDep, s: SettingsDep, clock: ClockDep,
            lon: float | None = Query(None, ge=-180, le=180),
            lat: float | None = Query(None, ge=-90, le=90)) -> list[CategorySuggestion]:
    """类别选择 / Every matter, my recent ones and those reported nearby lately first."""
    now = clock.now()
    return queries.suggest_categories(session, actor, s.catalog_standard, lon, lat, now - timedelta(days=30))


@router.post("/api/v1/channels/pings", status_code=201, response_model=None)
def pings(body: PingsIn, session: SessionDep, actor: Annotated[Actor, Depends(require_roles("inspector"))],
          index: GridIndexDep, clock: ClockDep) -> dict[str, int]:
    """巡查定位 / Store a batch of my positions (the app queues them while offline)."""
    assert actor.id is not None  # an inspector is a user
    stored = patrol.store(session, actor.id, body, index.locate, clock.now())
    return {"stored": stored}


@router.get("/api/v1/channels/patrol", response_model=PatrolOut)
def patrol_day(session: SessionDep, actor: ActorDep, s: SettingsDep, clock: ClockDep,
               username: str | None = Query(None, max_length=64), day: Day | None = None) -> PatrolOut:
    """巡查统计 / One inspector's day: track, grid coverage, reports, 漏报 (others' finds in their grids)."""
    who = username or actor.username
    if who != actor.username and not actor.has("leader", "shift_lead", "operator", "admin"):
        raise Forbidden("not-your-track", "只能查看自己的巡查轨迹", "You may only see your own track")
    now = clock.now()
    return patrol.summary(session, who, day or now.astimezone(ZoneInfo(s.timezone)).date(), s.timezone)


@router.get("/api/v1/channels/cameras", response_model=list[CameraOut])
def cameras(session: SessionDep, _: StaffDep, duty_grid: str | None = Query(None, max_length=32)) -> list[Camera]:
    """摄像头 / Registered video channels."""
    stmt = select(Camera).order_by(Camera.code)
    if duty_grid:
        stmt = stmt.where(Camera.duty_grid_code == duty_grid)
    return list(session.scalars(stmt.limit(5000)))


@router.put("/api/v1/channels/cameras/{code}", response_model=CameraOut)
def put_camera(code: str, body: CameraIn, session: SessionDep, _: AdminDep,
               index: GridIndexDep, clock: ClockDep) -> Camera:
    """登记摄像头 / Register or update a camera (its place must be in a unit grid)."""
    if not (0 < len(code) <= 32) or not code.replace("-", "").replace("_", "").isalnum():
        raise Invalid("bad-camera-code", "摄像头编号只能含字母、数字、- 和 _", "Camera codes are letters, digits, - and _")
    return video.register_camera(session, index.locate, code, body, clock.now())


@router.get("/api/v1/channels/duty-grids/mine", response_model=None)
def my_grids(session: SessionDep, actor: Annotated[Actor, Depends(require_roles("inspector"))]) -> dict[str, Any]:
    """我的责任网格 / The unit grids of my duty grids as GeoJSON (the app's map)."""
    grids = duty_grids_of(session, actor.id)
    rows: Iterable[UnitGrid] = session.scalars(
        select(UnitGrid).where(UnitGrid.duty_grid_code.in_(grids)).order_by(UnitGrid.code)) if grids else []
    return {"type": "FeatureCollection", "duty_grids": sorted(grids), "features": [
        {"type": "Feature", "id": g.code, "geometry": json.loads(g.geometry),
         "properties": {"code": g.code, "duty_grid_code": g.duty_grid_code}} for g in rows]}


@router.get("/api/v1/channels/review", response_model=None)
def review(session: SessionDep, actor: Annotated[Actor, Depends(require_roles("operator", "shift_lead"))],
           state: StateDep, page: int = Query(1, ge=1, le=10_000),
           size: int = Query(50, ge=1, le=200)) -> list[dict[str, Any]]:
    """上报审核 / Reports waiting for 受理 (oldest deadline first, a page at a time) with their channel, suggested
    parent cases and photo evidence flags; phones are masked. A district center's staff see their center's only."""
    return review_queue(session, state.session_factory, state.settings, state.clock.now(), actor, page, size)
