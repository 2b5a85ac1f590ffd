"""Read side of the fleet: companies with scores, vehicles, permits (also the public list), violations with
their appeals, tracks for playback, and the map layers."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from cityloop.cases.api import Case, openable
from cityloop.config import Settings
from cityloop.org.actor import Actor
from cityloop.fleet import domain, positions, schemas, track
from cityloop.fleet.models import Appeal, Company, Permit, PermitVehicle, Site, Vehicle, Violation, Zone
from cityloop.shared.errors import NotFound


def _counting(now: datetime) -> ColumnElement[bool]:
    """Violations that count against a company: upheld, or left unappealed past the deadline."""
    return or_(Violation.status == "upheld", and_(Violation.status == "open", Violation.appeal_due_at < now))


def company_score(session: Session, settings: Settings, company_id: int, now: datetime) -> tuple[int, bool]:
    """(score, blacklisted) from the upheld violations of the last 365 days."""
    kinds = session.execute(select(Violation.kind, func.count()).where(
        Violation.company_id == company_id, Violation.started_at >= now - timedelta(days=365), _counting(now))
        .group_by(Violation.kind)).all()
    value = domain.score(sum(settings.fleet_score_points.get(k, 1) * n for k, n in kinds))
    return value, value < settings.fleet_blacklist_score


def companies(session: Session, settings: Settings, company: int | None, now: datetime) -> list[schemas.CompanyOut]:
    """Companies (a company user sees its own) with vehicle counts and scores."""
    stmt = select(Company).order_by(Company.id)
    if company is not None:
        stmt = stmt.where(Company.id == company)
    counts = dict(session.execute(select(Vehicle.company_id, func.count()).group_by(Vehicle.company_id)).all())
    out = []
    for c in session.scalars(stmt):
        value, black = company_score(session, settings, c.id, now)
        out.append(schemas.CompanyOut(id=c.id, name=c.name, credit_code=c.credit_code, contact_name=c.contact_name,
                                      contact_phone=c.contact_phone, address=c.address, active=c.active,
                                      vehicles=counts.get(c.id, 0), score=value, blacklisted=black))
    return out


def _utc(ts: int | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, timezone.utc)


def vehicle_out(v: Vehicle, company_name: str) -> schemas.VehicleOut:
    return schemas.VehicleOut(id=v.id, company_id=v.company_id, company_name=company_name, plate=v.plate,
                              plate_color=v.plate_color, load_type=v.load_type, sealed=v.sealed,
                              load_sensor=v.load_sensor, terminal_id=v.terminal_id, terminal_phone=v.terminal_phone,
                              coord_sys=v.coord_sys, active=v.active, last_at=_utc(v.last_at), last_lon=v.last_lon,
                              last_lat=v.last_lat, last_speed=v.last_speed)


def vehicles(session: Session, company: int | None, offset: int = 0,
             limit: int | None = None) -> list[schemas.VehicleOut]:
    """Vehicles (a company user sees its own) with their newest position, a page at a time."""
    stmt = select(Vehicle, Company.name).join(Company, Company.id == Vehicle.company_id).order_by(Vehicle.id)
    stmt = stmt.offset(offset).limit(limit) if limit is not None else stmt
    if company is not None:
        stmt = stmt.where(Vehicle.company_id == company)
    return [vehicle_out(v, name) for v, name in session.execute(stmt)]


def get_vehicle(session: Session, vehicle_id: int, company: int | None) -> Vehicle:
    """A vehicle the caller may see, or 404."""
    v = session.get(Vehicle, vehicle_id)
    if v is None or (company is not None and v.company_id != company):
        raise NotFound("vehicle-not-found", "车辆不存在", "Vehicle not found")
    return v


def permits(session: Session, settings: Settings, now: datetime, company: int | None = None,
            status: str | None = None, public: bool = False) -> list[schemas.PermitOut]:
    """Permits (filtered); the public list holds approved permits that are in force or coming."""
    today = now.astimezone(ZoneInfo(settings.timezone)).date()
    stmt = select(Permit).order_by(Permit.id.desc())
    if company is not None:
        stmt = stmt.where(Permit.company_id == company)
    if public:
        stmt = stmt.where(Permit.status == "approved", Permit.valid_to >= today)
    elif status == "expired":
        stmt = stmt.where(Permit.status == "approved", Permit.valid_to < today)
    elif status:
        stmt = stmt.where(Permit.status == status)
    rows = list(session.scalars(stmt.limit(500)))
    return [permit_out(session, p, today) for p in rows]


def permit_out(session: Session, p: Permit, today: date) -> schemas.PermitOut:
    plates = session.execute(select(Vehicle.id, Vehicle.plate)
                             .join(PermitVehicle, PermitVehicle.vehicle_id == Vehicle.id)
                             .where(PermitVehicle.permit_id == p.id).order_by(Vehicle.id)).all()
    sites = {s.id: s for s in session.scalars(select(Site).where(Site.id.in_([p.from_site_id, p.to_site_id])))}
    company = session.get(Company, p.company_id)
    assert company is not None  # a permit's company stays (foreign key)

    def ref(s: Site) -> schemas.SiteRef:
        return schemas.SiteRef(id=s.id, name=s.name, kind=s.kind)

    return schemas.PermitOut(
        id=p.id, number=p.number, company_id=p.company_id, company_name=company.name,
        vehicle_ids=[i for i, _ in plates], plates=[n for _, n in plates], from_site=ref(sites[p.from_site_id]),
        to_site=ref(sites[p.to_site_id]), route=json.loads(p.route)["coordinates"], corridor_m=p.corridor_m,
        valid_from=p.valid_from, valid_to=p.valid_to, hours=p.hours or [],
        status=domain.permit_status(p.status, p.valid_to, today), reason=p.reason, applied_at=p.applied_at,
        reviewed_at=p.reviewed_at)


def _appeal_out(a: Appeal | None) -> schemas.AppealOut | None:
    if a is None:
        return None
    files = [{"n": i, "name": f["name"], "content_type": f["content_type"], "size": f["size"],
              "url": f"/api/v1/fleet/appeals/{a.id}/files/{i}"} for i, f in enumerate(a.files or [])]
    return schemas.AppealOut(id=a.id, violation_id=a.violation_id, text=a.text, files=files,
                             submitted_at=a.submitted_at, decision=a.decision, decision_note=a.decision_note,
                             decided_at=a.decided_at)


def violations(session: Session, now: datetime, company: int | None, filters: dict[str, Any], page: int = 1,
               size: int = 50, detail: bool = False, actor: Actor | None = None) -> tuple[list[schemas.ViolationOut], int]:
    """Violations, newest first, with plate, company, case number (only of cases `actor` may open) and appeal."""
    stmt = (select(Violation, Vehicle.plate, Company.name, Case.number, Appeal)
            .join(Vehicle, Vehicle.id == Violation.vehicle_id).join(Company, Company.id == Violation.company_id)
            .outerjoin(Case, Case.id == Violation.case_id).outerjoin(Appeal, Appeal.violation_id == Violation.id))
    conds = []
    if company is not None:
        conds.append(Violation.company_id == company)
    for key, col in (("vehicle_id", Violation.vehicle_id), ("company_id", Violation.company_id),
                     ("kind", Violation.kind), ("id", Violation.id)):
        if filters.get(key) is not None:
            conds.append(col == filters[key])
    status = filters.get("status")
    if status == "upheld":
        conds.append(_counting(now))
    elif status == "open":
        conds.append(and_(Violation.status == "open", Violation.appeal_due_at >= now))
    elif status:
        conds.append(Violation.status == status)
    if filters.get("appeal") == "pending":
        conds += [Appeal.id.is_not(None), Appeal.decision.is_(None)]
    total = session.execute(select(func.count()).select_from(stmt.where(*conds).subquery())).scalar_one()
    rows = session.execute(stmt.where(*conds).order_by(Violation.started_at.desc(), Violation.id.desc())
                           .offset((page - 1) * size).limit(size)).all()
    model = schemas.ViolationDetail if detail else schemas.ViolationOut
    out = [model(id=v.id, kind=v.kind, kind_name=domain.KINDS[v.kind][0], vehicle_id=v.vehicle_id, plate=plate,
                 company_id=v.company_id, company_name=cname, permit_id=v.permit_id, started_at=v.started_at,
                 detected_at=v.detected_at, ended_at=v.ended_at, lon=v.lon, lat=v.lat, details=v.details or {},
                 status=domain.effective_status(v.status, v.appeal_due_at, now), appeal_due_at=v.appeal_due_at,
                 case_id=v.case_id, case_number=number, case_error=v.case_error, appeal=_appeal_out(a),
                 **({"evidence": v.evidence or {}} if detail else {}))
           for v, plate, cname, number, a in rows]
    if actor is not None:
        allowed = openable(session, actor, (v.case_id for v in out))
        for v in out:
            if v.case_id not in allowed:
                v.case_id = v.case_number = None
    return out, total


def get_violation(session: Session, now: datetime, violation_id: int, company: int | None,
                  actor: Actor | None = None) -> schemas.ViolationDetail:
    """One violation with its evidence, or 404."""
    items, _ = violations(session, now, company, {"id": violation_id}, detail=True, actor=actor)
    if not items:
        raise NotFound("violation-not-found", "违规记录不存在", "Violation not found")
    item = items[0]
    assert isinstance(item, schemas.ViolationDetail)  # detail=True
    return item


def vehicle_track(session: Session, vehicle: Vehicle, t0: datetime, t1: datetime, tolerance_m: float,
                  now: datetime) -> schemas.TrackOut:
    """Positions of a vehicle in a time range, simplified for display, with the violations in that range."""
    rows = positions.track(session, vehicle.id, t0.timestamp(), t1.timestamp())
    keep = track.simplify(rows[:, 1], rows[:, 2], tolerance_m) if len(rows) else np.zeros(0, int)
    pts = [[int(r[0]), round(r[1], 6), round(r[2], 6), round(r[3], 1), int(r[4])] for r in rows[keep]]
    found, _ = violations(session, now, None, {"vehicle_id": vehicle.id}, size=500)
    marks = [{"id": v.id, "kind": v.kind, "kind_name": v.kind_name, "lon": v.lon, "lat": v.lat,
              "started_at": v.started_at.isoformat(), "status": v.status} for v in found if t0 <= v.started_at <= t1]
    return schemas.TrackOut(vehicle_id=vehicle.id, plate=vehicle.plate, points=pts, raw_points=len(rows),
                            violations=marks)


def map_layers(session: Session) -> dict[str, Any]:
    """Sites and zones as one GeoJSON FeatureCollection for the maps."""
    features = [{"type": "Feature", "geometry": json.loads(s.geometry),
                 "properties": {"layer": "site", "id": s.id, "kind": s.kind, "name": s.name}}
                for s in session.scalars(select(Site).where(Site.active.is_(True)).order_by(Site.id))]
    features += [{"type": "Feature", "geometry": json.loads(z.geometry),
                  "properties": {"layer": "zone", "id": z.id, "kind": z.kind, "name": z.name,
                                 "speed_limit": z.speed_limit, "width_m": z.width_m, "hours": z.hours or []}}
                 for z in session.scalars(select(Zone).where(Zone.active.is_(True)).order_by(Zone.id))]
    return {"type": "FeatureCollection", "features": features}
