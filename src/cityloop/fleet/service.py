"""Fleet use cases: the registry (companies, their users, vehicles, drivers, sites, zones) and permits (apply,
approve, reject, revoke). Each loads, decides, writes and commits once."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import shapely
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.config import Settings
from cityloop.db import Base
from cityloop.org.actor import Actor
from cityloop.fleet import access, schemas
from cityloop.fleet.models import Company, CompanyUser, Driver, Permit, PermitVehicle, Site, Vehicle, Zone
from cityloop.fleet.queries import company_score
from cityloop.org.models import User
from cityloop.org.service import add_user
from cityloop.shared.errors import Conflict, Forbidden, Invalid, NotFound
from cityloop.notify import hooks as notify_hooks

Row = TypeVar("Row", bound=Base)


def _geojson(geometry: dict[str, Any], kinds: tuple[str, ...]) -> str:
    """Validated GeoJSON text of a WGS84 geometry of one of these types."""
    try:
        geom = shapely.from_geojson(json.dumps(geometry))
    except (shapely.errors.GEOSException, ValueError, TypeError) as exc:
        raise Invalid("bad-geometry", "几何图形不是有效的 GeoJSON", "The geometry is not valid GeoJSON") from exc
    if geom.geom_type not in kinds or geom.is_empty or not geom.is_valid:
        raise Invalid("bad-geometry", f"几何图形应为有效的 {'/'.join(kinds)}", f"The geometry must be a valid {'/'.join(kinds)}")
    x0, y0, x1, y1 = geom.bounds
    if not (-180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90):
        raise Invalid("bad-geometry", "经纬度超出范围", "Coordinates out of range")
    text: str = shapely.to_geojson(geom)
    return text


def _get(session: Session, model: type[Row], ident: int, what: tuple[str, str]) -> Row:
    row = session.get(model, ident)
    if row is None:
        raise NotFound(f"{what[1].lower().replace(' ', '-')}-not-found", f"{what[0]}不存在", f"{what[1]} not found")
    return row


def add_company(session: Session, body: schemas.CompanyIn, now: datetime) -> Company:
    """Register a transport company (unique credit code)."""
    if session.scalar(select(Company.id).where(Company.credit_code == body.credit_code)):
        raise Conflict("company-exists", "该统一社会信用代码已登记", "A company with this credit code exists")
    company = Company(**body.model_dump(), active=True, created_at=now)
    session.add(company)
    session.commit()
    return company


def add_company_user(session: Session, company_id: int, body: schemas.CompanyUserIn, now: datetime) -> User:
    """A login (role company) for a company's second-level portal."""
    _get(session, Company, company_id, ("企业", "Company"))
    user = add_user(session, body.username, body.password, ["company"], now, body.display_name)
    session.flush()
    session.add(CompanyUser(user_id=user.id, company_id=company_id))
    session.commit()
    return user


def add_vehicle(session: Session, body: schemas.VehicleIn, now: datetime) -> Vehicle:
    """Register a vehicle with its terminal (plate and terminal phone are unique)."""
    _get(session, Company, body.company_id, ("企业", "Company"))
    phone = body.terminal_phone.lstrip("0") or "0"
    if session.scalar(select(Vehicle.id).where(Vehicle.plate == body.plate)):
        raise Conflict("plate-exists", f"车牌 {body.plate} 已登记", f"Plate {body.plate} is already registered")
    if session.scalar(select(Vehicle.id).where(Vehicle.terminal_phone == phone)):
        raise Conflict("terminal-exists", "该终端手机号已绑定其他车辆", "This terminal phone is bound to another vehicle")
    vehicle = Vehicle(**body.model_dump(exclude={"terminal_phone"}), terminal_phone=phone, active=True, created_at=now)
    session.add(vehicle)
    access.bump_version(session)
    session.commit()
    return vehicle


def add_driver(session: Session, body: schemas.DriverIn) -> Driver:
    """Register a driver of a company (optionally on one of its vehicles)."""
    _get(session, Company, body.company_id, ("企业", "Company"))
    if body.vehicle_id is not None:
        vehicle = _get(session, Vehicle, body.vehicle_id, ("车辆", "Vehicle"))
        if vehicle.company_id != body.company_id:
            raise Invalid("vehicle-of-other-company", "车辆不属于该企业", "The vehicle belongs to another company")
    driver = Driver(**body.model_dump())
    session.add(driver)
    session.commit()
    return driver


def add_site(session: Session, body: schemas.SiteIn) -> Site:
    """A construction site, disposal site or depot."""
    if body.company_id is not None:
        _get(session, Company, body.company_id, ("企业", "Company"))
    site = Site(**body.model_dump(exclude={"geometry"}), geometry=_geojson(body.geometry, ("Polygon", "MultiPolygon")),
                active=True)
    session.add(site)
    access.bump_version(session)
    session.commit()
    return site


def add_zone(session: Session, body: schemas.ZoneIn) -> Zone:
    """A restricted zone, a speed zone or a road with its limit."""
    kinds = ("LineString", "MultiLineString") if body.kind == "road" else ("Polygon", "MultiPolygon")
    if body.kind != "restricted" and body.speed_limit is None:
        raise Invalid("speed-limit-required", "道路和限速区须设定限速", "Roads and speed zones need a speed limit")
    zone = Zone(**body.model_dump(exclude={"geometry"}), geometry=_geojson(body.geometry, kinds), active=True)
    if body.kind == "road" and zone.width_m is None:
        zone.width_m = 30.0
    session.add(zone)
    access.bump_version(session)
    session.commit()
    return zone


def today(settings: Settings, now: datetime) -> date:
    """The local date."""
    return now.astimezone(ZoneInfo(settings.timezone)).date()


def apply_permit(session: Session, settings: Settings, actor: Actor, body: schemas.PermitIn, now: datetime) -> Permit:
    """A company applies for a transport permit (a reviewer may also file one for a company)."""
    own = access.company_of(session, actor)
    if own is None and not access.is_reviewer(session, settings, actor):
        raise Forbidden("cannot-apply", "只有运输企业或审核人员可以申请核准", "Only companies or reviewers may apply")
    company_id = own or body.company_id
    if company_id is None or (own is not None and body.company_id not in (None, own)):
        raise Invalid("company-required", "请指定本企业", "Give your own company")
    company = _get(session, Company, company_id, ("企业", "Company"))
    score, blacklisted = company_score(session, settings, company.id, now)
    if blacklisted:
        raise Conflict("company-blacklisted", f"企业信用分 {score} 低于黑名单线，暂停核准申请",
                       f"The company's score {score} is below the blacklist threshold; no new permits")
    vehicles = list(session.scalars(select(Vehicle).where(Vehicle.id.in_(body.vehicle_ids))))
    if len(vehicles) != len(body.vehicle_ids) or any(v.company_id != company.id or not v.active for v in vehicles):
        raise Invalid("bad-vehicles", "车辆不存在或不属于本企业", "Unknown vehicles, or vehicles of another company")
    origin = _get(session, Site, body.from_site_id, ("起点工地", "Origin site"))
    target = _get(session, Site, body.to_site_id, ("消纳场", "Destination site"))
    if origin.kind != "construction" or target.kind not in ("disposal", "depot") or origin.id == target.id:
        raise Invalid("bad-sites", "起点须为工地，终点须为消纳场", "From a construction site to a disposal site")
    first = today(settings, now)
    if not (first - timedelta(days=1) <= body.valid_from <= body.valid_to <= body.valid_from + timedelta(days=366)):
        raise Invalid("bad-dates", "有效期须自今日起、不超过一年", "Valid dates must start from today and last at most a year")
    permit = Permit(company_id=company.id, from_site_id=origin.id, to_site_id=target.id,
                    route=json.dumps({"type": "LineString", "coordinates": [list(p) for p in body.route]}),
                    corridor_m=body.corridor_m, valid_from=body.valid_from, valid_to=body.valid_to,
                    hours=body.hours, status="pending", applied_by=actor.id, applied_at=now)
    session.add(permit)
    session.flush()
    session.add_all([PermitVehicle(permit_id=permit.id, vehicle_id=v.id) for v in vehicles])
    session.commit()
    return permit


def decide_permit(session: Session, settings: Settings, actor: Actor, permit_id: int, action: str,
                  reason: str | None, now: datetime) -> Permit:
    """approve / reject (pending) or revoke (approved); rejecting and revoking need a reason."""
    access.require_reviewer(session, settings, actor)
    permit = _get(session, Permit, permit_id, ("核准", "Permit"))
    wanted = {"approve": "pending", "reject": "pending", "revoke": "approved"}[action]
    if permit.status != wanted:
        verb = {"approve": "批准", "reject": "驳回", "revoke": "撤销"}[action]
        raise Conflict("permit-stage", f"该核准当前状态为 {permit.status}，不能{verb}",
                       f"The permit is {permit.status}; cannot {action}")
    if action != "approve" and not (reason or "").strip():
        raise Invalid("reason-required", "请填写理由", "A reason is required")
    permit.status = {"approve": "approved", "reject": "rejected", "revoke": "revoked"}[action]
    permit.reason, permit.reviewed_by, permit.reviewed_at = reason, actor.id, now
    if action == "approve":
        local = now.astimezone(ZoneInfo(settings.timezone)).strftime("%Y%m%d")
        permit.number = f"ZT{local}{permit.id:06d}"
    access.bump_version(session)
    notify_hooks.permit_decided(session, permit, now)
    session.commit()
    return permit
