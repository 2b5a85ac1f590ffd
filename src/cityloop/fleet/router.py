"""Fleet endpoints (渣土车监管): registry, permits (and their public list), forwarded positions, violations,
appeals, tracks and map layers. Company users see their own company; reviewers decide."""

from __future__ import annotations

import hmac
import json
from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from cityloop.deps import ActorDep, ClockDep, SessionDep, SettingsDep, StateDep, current_actor, oauth2
from cityloop.org.actor import Actor
from cityloop.fleet import access, appeals, ingest, queries, schemas, service
from cityloop.fleet.models import Appeal, Company, Driver, Permit, Site, Vehicle, Zone
from cityloop.fleet.pages import extra_routers  # noqa: F401 - mounted by the app with this module
from cityloop.shared.errors import Forbidden, Invalid, NotFound, Unauthorized
from cityloop.http.pagination import Page, PageParams, page_params
from cityloop.sla.service import work_calendar
from cityloop.shared.fields import Instant
from cityloop.config import Settings

router = APIRouter(prefix="/api/v1/fleet", tags=["fleet 渣土车监管"])
RowId = Annotated[int, Path(ge=1, le=2**31 - 1)]
KindQ = Literal["speeding", "off_route", "out_of_hours", "unpermitted", "dumping", "restricted", "offline", "unsealed",
                "spilling", "spot_check"]


def _company_name(session: Session, company_id: int) -> str:
    company = session.get(Company, company_id)
    assert company is not None  # a vehicle's company stays (foreign key)
    return company.name


@router.get("/companies", response_model=list[schemas.CompanyOut])
def companies(session: SessionDep, actor: ActorDep, settings: SettingsDep, clock: ClockDep,
              ) -> list[schemas.CompanyOut]:
    """运输企业 / Transport companies with scores (a company user sees its own)."""
    return queries.companies(session, settings, access.scope(session, actor), clock.now())


@router.post("/companies", response_model=schemas.CompanyOut, status_code=201)
def add_company(body: schemas.CompanyIn, session: SessionDep, actor: ActorDep, settings: SettingsDep,
                clock: ClockDep) -> schemas.CompanyOut:
    """登记运输企业 / Register a transport company."""
    access.require_reviewer(session, settings, actor)
    c = service.add_company(session, body, clock.now())
    return schemas.CompanyOut(**body.model_dump(), id=c.id, active=True)


@router.post("/companies/{company_id}/users", status_code=201, response_model=None)
def add_company_user(company_id: RowId, body: schemas.CompanyUserIn, session: SessionDep, actor: ActorDep,
                     settings: SettingsDep, clock: ClockDep) -> dict[str, Any]:
    """企业账号 / A login for the company portal (role company)."""
    access.require_reviewer(session, settings, actor)
    user = service.add_company_user(session, company_id, body, clock.now())
    return {"id": user.id, "username": user.username, "company_id": company_id}


@router.get("/vehicles", response_model=list[schemas.VehicleOut])
def vehicles(session: SessionDep, actor: ActorDep, offset: int = Query(0, ge=0, le=1_000_000),
             limit: int = Query(5000, ge=1, le=20_000)) -> list[schemas.VehicleOut]:
    """车辆 / Vehicles with plate, terminal phone and newest position, a page at a time (offset, limit)."""
    return queries.vehicles(session, access.scope(session, actor), offset, limit)


@router.post("/vehicles", response_model=schemas.VehicleOut, status_code=201)
def add_vehicle(body: schemas.VehicleIn, session: SessionDep, actor: ActorDep, settings: SettingsDep,
                clock: ClockDep) -> schemas.VehicleOut:
    """登记车辆与终端 / Register a vehicle and its JT/T 808 terminal."""
    access.require_reviewer(session, settings, actor)
    v = service.add_vehicle(session, body, clock.now())
    return queries.vehicle_out(v, _company_name(session, v.company_id))


@router.get("/vehicles/{vehicle_id}", response_model=schemas.VehicleOut)
def vehicle(vehicle_id: RowId, session: SessionDep, actor: ActorDep) -> schemas.VehicleOut:
    """车辆详情 / One vehicle."""
    v = queries.get_vehicle(session, vehicle_id, access.scope(session, actor))
    return queries.vehicle_out(v, _company_name(session, v.company_id))


@router.get("/vehicles/{vehicle_id}/track", response_model=schemas.TrackOut)
def vehicle_track(vehicle_id: RowId, session: SessionDep, actor: ActorDep, clock: ClockDep,
                  from_: Instant | None = Query(None, alias="from"), to: Instant | None = None,
                  tolerance: float = Query(5.0, ge=0, le=1000)) -> schemas.TrackOut:
    """轨迹回放 / A vehicle's track (Douglas–Peucker simplified, tolerance in metres) with violation markers."""
    v = queries.get_vehicle(session, vehicle_id, access.scope(session, actor))
    t1 = to or clock.now()
    t0 = from_ or t1 - timedelta(hours=24)
    if not timedelta(0) <= t1 - t0 <= timedelta(days=7):
        raise Invalid("bad-range", "时间范围须在 7 天以内且起点早于终点", "The range must be 0–7 days, from before to")
    return queries.vehicle_track(session, v, t0, t1, tolerance, clock.now())


@router.get("/drivers", response_model=list[schemas.DriverOut])
def drivers(session: SessionDep, actor: ActorDep) -> list[schemas.DriverOut]:
    """驾驶员 / Drivers."""
    company = access.scope(session, actor)
    stmt = select(Driver).order_by(Driver.id)
    if company is not None:
        stmt = stmt.where(Driver.company_id == company)
    return [schemas.DriverOut.model_validate(d, from_attributes=True) for d in session.scalars(stmt)]


@router.post("/drivers", response_model=schemas.DriverOut, status_code=201)
def add_driver(body: schemas.DriverIn, session: SessionDep, actor: ActorDep,
               settings: SettingsDep) -> schemas.DriverOut:
    """登记驾驶员 / Register a driver."""
    access.require_reviewer(session, settings, actor)
    return schemas.DriverOut.model_validate(service.add_driver(session, body), from_attributes=True)


def _site_out(s: Site) -> schemas.SiteOut:
    return schemas.SiteOut(id=s.id, kind=s.kind, name=s.name, address=s.address, company_id=s.company_id,
                           geometry=json.loads(s.geometry))


def _zone_out(z: Zone) -> schemas.ZoneOut:
    return schemas.ZoneOut(id=z.id, kind=z.kind, name=z.name, geometry=json.loads(z.geometry), width_m=z.width_m,
                           speed_limit=z.speed_limit, hours=z.hours or [])


@router.get("/sites", response_model=list[schemas.SiteOut])
def sites(session: SessionDep, _: ActorDep) -> list[schemas.SiteOut]:
    """工地、消纳场、停车场 / Construction sites, disposal sites and depots."""
    return [_site_out(s) for s in session.scalars(select(Site).where(Site.active.is_(True)).order_by(Site.id))]


@router.post("/sites", response_model=schemas.SiteOut, status_code=201)
def add_site(body: schemas.SiteIn, session: SessionDep, actor: ActorDep, settings: SettingsDep) -> schemas.SiteOut:
    """登记工地/消纳场 / Add a site (polygon)."""
    access.require_reviewer(session, settings, actor)
    return _site_out(service.add_site(session, body))


@router.get("/zones", response_model=list[schemas.ZoneOut])
def zones(session: SessionDep, _: ActorDep) -> list[schemas.ZoneOut]:
    """禁行区、限速区与道路 / Restricted zones, speed zones and roads."""
    return [_zone_out(z) for z in session.scalars(select(Zone).where(Zone.active.is_(True)).order_by(Zone.id))]


@router.post("/zones", response_model=schemas.ZoneOut, status_code=201)
def add_zone(body: schemas.ZoneIn, session: SessionDep, actor: ActorDep, settings: SettingsDep) -> schemas.ZoneOut:
    """新增禁行区/限速区/道路 / Add a zone or a road."""
    access.require_reviewer(session, settings, actor)
    return _zone_out(service.add_zone(session, body))


@router.get("/map", response_model=None)
def map_layers(session: SessionDep, _: ActorDep) -> dict[str, Any]:
    """地图图层 / Sites and zones as GeoJSON."""
    return queries.map_layers(session)


@router.get("/permits", response_model=list[schemas.PermitOut])
def permits(session: SessionDep, actor: ActorDep, settings: SettingsDep, clock: ClockDep,
            status: Literal["pending", "approved", "rejected", "revoked", "expired"] | None = None,
            ) -> list[schemas.PermitOut]:
    """运输核准 / Permits (a company user sees its own)."""
    return queries.permits(session, settings, clock.now(), access.scope(session, actor), status)


@router.get("/public/permits", response_model=list[schemas.PermitOut])
def public_permits(session: SessionDep, settings: SettingsDep, clock: ClockDep) -> list[schemas.PermitOut]:
    """核准信息公开 / Approved permits in force (no login)."""
    return queries.permits(session, settings, clock.now(), public=True)


@router.post("/permits", response_model=schemas.PermitOut, status_code=201)
def apply_permit(body: schemas.PermitIn, session: SessionDep, actor: ActorDep, settings: SettingsDep,
                 clock: ClockDep) -> schemas.PermitOut:
    """申请运输核准 / Apply for a permit (companies; reviewers may file for a company)."""
    p = service.apply_permit(session, settings, actor, body, clock.now())
    return queries.permit_out(session, p, service.today(settings, clock.now()))


@router.get("/permits/{permit_id}", response_model=schemas.PermitOut)
def permit(permit_id: RowId, session: SessionDep, actor: ActorDep, settings: SettingsDep,
           clock: ClockDep) -> schemas.PermitOut:
    """核准详情 / One permit."""
    p = session.get(Permit, permit_id)
    company = access.scope(session, actor)
    if p is None or (company is not None and p.company_id != company):
        raise NotFound("permit-not-found", "核准不存在", "Permit not found")
    return queries.permit_out(session, p, service.today(settings, clock.now()))


@router.post("/permits/{permit_id}/{action}", response_model=schemas.PermitOut)
def decide_permit(permit_id: RowId, action: Literal["approve", "reject", "revoke"], session: SessionDep,
                  actor: ActorDep, settings: SettingsDep, clock: ClockDep,
                  body: schemas.ReasonIn | None = None) -> schemas.PermitOut:
    """审核核准 / Approve or reject a pending permit, or revoke an approved one (reason required)."""
    p = service.decide_permit(session, settings, actor, permit_id, action, body.reason if body else None,
                              clock.now())
    return queries.permit_out(session, p, service.today(settings, clock.now()))


async def _ingest_caller(request: Request, settings: SettingsDep,
                         token: Annotated[str | None, Depends(oauth2)]) -> Actor | None:
    given, expected = request.headers.get("x-fleet-token"), settings.fleet_ingest_token
    if given is not None:
        if expected and hmac.compare_digest(given.encode(), expected.encode()):
            return None
        raise Unauthorized("bad-fleet-token", "转发令牌无效", "Invalid X-Fleet-Token")
    return await current_actor(request, token)


@router.post("/positions", response_model=schemas.IngestOut)
def post_positions(body: schemas.PositionsIn, session: SessionDep,
                   caller: Annotated[Actor | None, Depends(_ingest_caller)], state: StateDep) -> schemas.IngestOut:
    """转发定位 / Positions forwarded by another platform (X-Fleet-Token, or a reviewer's login)."""
    if caller is not None:
        access.require_reviewer(session, state.settings, caller)
    pipeline = ingest.get_pipeline(state)
    with pipeline.lock:
        pipeline.refresh(session)
        plates = dict(session.execute(select(Vehicle.plate, Vehicle.id)).all())
        fixes, unknown = ingest.fixes_from_json(body.positions, pipeline.terminals, plates)
        stored, _, made = pipeline.ingest(session, fixes, state.clock.now())
    return schemas.IngestOut(received=len(body.positions), stored=stored, unknown=unknown, violations=made)


@router.get("/violations", response_model=Page[schemas.ViolationOut])
def violations(pg: Annotated[PageParams, Depends(page_params)], session: SessionDep, actor: ActorDep,
               clock: ClockDep, vehicle_id: int | None = Query(None, ge=1, le=2**31 - 1),
               company_id: int | None = Query(None, ge=1, le=2**31 - 1), kind: KindQ | None = None,
               status: Literal["open", "appealed", "upheld", "cancelled"] | None = None,
               appeal: Literal["pending"] | None = None) -> Page[schemas.ViolationOut]:
    """违规记录 / Violations (a company user sees its own); status=upheld includes those past the appeal deadline."""
    filters = {"vehicle_id": vehicle_id, "company_id": company_id, "kind": kind, "status": status, "appeal": appeal}
    items, total = queries.violations(session, clock.now(), access.scope(session, actor), filters, pg.page, pg.size,
                                      actor=actor)
    return Page(items=items, total=total, page=pg.page, size=pg.size)


@router.get("/violations/{violation_id}", response_model=schemas.ViolationDetail)
def violation(violation_id: RowId, session: SessionDep, actor: ActorDep, clock: ClockDep) -> schemas.ViolationDetail:
    """违规详情与证据轨迹 / One violation with its evidence (track segment)."""
    return queries.get_violation(session, clock.now(), violation_id, access.scope(session, actor), actor)


_APPEAL_FORM = {"type": "object", "properties": {
    "text": {"type": "string"}, "files": {"type": "array", "items": {"type": "string", "format": "binary"}}}}
_APPEAL_JSON = {"type": "object", "properties": {"text": {"type": "string"}}}


@router.post("/violations/{violation_id}/appeal", response_model=schemas.AppealOut, status_code=201,
             openapi_extra={"requestBody": {"content": {"multipart/form-data": {"schema": _APPEAL_FORM},
                                                        "application/json": {"schema": _APPEAL_JSON}}}})
async def appeal(violation_id: RowId, request: Request, session: SessionDep, actor: ActorDep,
                 state: StateDep) -> schemas.AppealOut | None:
    """申诉 / A company appeals a violation with text and files (multipart: text, files; or JSON {"text"})."""
    settings = state.settings
    text, files = await _appeal_form(request, settings)

    def run() -> schemas.AppealOut | None:
        cal = work_calendar(state.read_session_factory, settings)
        a = appeals.submit(session, settings, cal, actor, violation_id, text, files, state.clock.now())
        return queries._appeal_out(a)

    return await run_in_threadpool(run)


async def _appeal_form(request: Request, settings: Settings) -> tuple[str, list[tuple[str, bytes]]]:
    ctype = request.headers.get("content-type", "")
    if ctype.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        form = await request.form(max_files=appeals.MAX_FILES + 1, max_fields=10)
        text: str | UploadFile | None = form.get("text")
        files: list[tuple[str, bytes]] = []
        for item in form.getlist("files"):
            if not isinstance(item, UploadFile):  # a plain field where a file belongs
                raise Invalid("bad-file-field", "files 字段必须是文件", "files must be files")
            files.append((item.filename or "file", await item.read(settings.max_upload_bytes + 1)))
    else:
        try:
            text, files = schemas.AppealText.model_validate_json(await request.body() or b"{}").text, []
        except ValidationError as exc:
            raise Invalid("invalid-input", "输入无效：text", "Invalid input: text") from exc
    if not isinstance(text, str) or not 0 < len(text) <= 2000:
        raise Invalid("appeal-text-required", "请填写申诉理由（2000 字以内）", "Give the reason (up to 2000 characters)")
    return text, files


@router.post("/violations/{violation_id}/decision", response_model=schemas.ViolationDetail)
def decide_appeal(violation_id: RowId, body: schemas.DecisionIn, session: SessionDep, actor: ActorDep,
                  state: StateDep) -> schemas.ViolationDetail:
    """申诉复核 / A reviewer upholds or cancels an appealed violation."""
    settings = state.settings
    cal = work_calendar(state.read_session_factory, settings)
    appeals.decide(session, settings, cal, actor, violation_id, body.decision, body.note, state.clock.now())
    return queries.get_violation(session, state.clock.now(), violation_id, None, actor)


@router.get("/appeals/{appeal_id}/files/{n}", response_class=FileResponse)
def appeal_file(appeal_id: RowId, n: Annotated[int, Path(ge=0, le=100)], session: SessionDep, actor: ActorDep,
                settings: SettingsDep) -> FileResponse:
    """申诉材料 / One file of an appeal (the company and staff)."""
    a = session.get(Appeal, appeal_id)
    company = access.scope(session, actor)
    if a is None or (company is not None and a.company_id != company) or not 0 <= n < len(a.files or []):
        raise NotFound("file-not-found", "文件不存在", "File not found")
    record = a.files[n]
    path = appeals.file_path(settings, record)
    if not path.exists():
        raise NotFound("file-missing", "文件缺失", "File missing")
    return FileResponse(path, media_type=record["content_type"], filename=record["name"])


@router.get("/gateway", response_model=None)
def gateway_stats(session: SessionDep, actor: ActorDep, state: StateDep) -> dict[str, Any]:
    """网关状态 / JT/T 808 gateway counters and online terminals of this server (when it runs the gateway)."""
    if not actor.has(*access.STAFF):
        raise Forbidden("staff-only", "仅限工作人员", "Staff only")
    gw = state.fleet_gateway
    pipeline = state.fleet_pipeline
    return {"running": gw is not None, "port": state.fleet_gateway_port,
            "online": len(gw.online()) if gw else 0, "counters": dict(gw.stats) if gw else {},
            "pipeline": dict(pipeline.stats) if pipeline else {}}
