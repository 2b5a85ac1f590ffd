"""Use cases: match a spill report to the truck that passed, record a roadside check, company records."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityloop.cases.api import Case
from cityloop.catalog.domain import bbox
from cityloop.config import Settings
from cityloop.org.actor import Actor
from cityloop.fleet import access
from cityloop.fleet.domain import KINDS
from cityloop.fleet.models import Company, Position, Vehicle, Violation
from cityloop.muck import domain
from cityloop.muck.models import SpotCheck
from cityloop.muck.schemas import PassOut, SpillOut, SpotCheckIn, SpotCheckOut
from cityloop.shared.errors import Invalid, NotFound

SEARCH_MARGIN_M = 1500  # fixes of a truck that crossed the circle may lie this far out (sparse fixes, fast trucks)
NO_CASE = "上路抽查当场处理，不另立案 / handled at the roadside: no case"


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, timezone.utc)


def _tracks(session: Session, lon: float, lat: float, t0: int, t1: int, radius_m: float) -> dict[int, np.ndarray]:
    """Tracks (t, lon, lat) in [t0, t1] of the vehicles with a fix near the point then."""
    west, south, east, north = bbox(lon, lat, radius_m + SEARCH_MARGIN_M)
    near = select(Position.vehicle_id).where(Position.t.between(t0, t1), Position.lon.between(west, east),
                                             Position.lat.between(south, north)).distinct()
    rows = session.execute(select(Position.vehicle_id, Position.t, Position.lon, Position.lat)
                           .where(Position.vehicle_id.in_(near), Position.t.between(t0, t1))
                           .order_by(Position.vehicle_id, Position.t)).all()
    out: dict[int, list[tuple[int, float, float]]] = {}
    for vid, t, x, y in rows:
        out.setdefault(vid, []).append((t, x, y))
    return {vid: np.array(r, dtype=float) for vid, r in out.items()}


def match_spill(session: Session, settings: Settings, case: Case, at: datetime, now: datetime) -> SpillOut:
    """Link a spill report to the truck that passed nearest (within the radius and window) as a 沿街抛撒
    violation of its company; one per case, so a second match returns the first. No commit."""
    existing = session.scalar(select(Violation).where(Violation.case_id == case.id, Violation.kind == "spilling"))
    ts = at.timestamp()
    before, after = settings.spill_before_minutes * 60, settings.spill_after_minutes * 60
    tracks = _tracks(session, case.lon, case.lat, int(ts - before), int(ts + after) + 1, settings.spill_radius_m)
    found = domain.passes(tracks, case.lon, case.lat, ts, settings.spill_radius_m, before, after)
    plates = dict(session.execute(select(Vehicle.id, Vehicle.plate).where(Vehicle.id.in_([p.vehicle_id
                                                                                        for p in found]))).all())
    out = [PassOut(vehicle_id=p.vehicle_id, plate=plates.get(p.vehicle_id, ""), distance_m=p.distance_m,
                   passed_at=_utc(p.t)) for p in found]
    if existing is None and found:
        best = found[0]
        vehicle = session.get_one(Vehicle, best.vehicle_id)
        existing = Violation(
            key=f"{vehicle.id}:spilling:case{case.id}", kind="spilling", vehicle_id=vehicle.id,
            company_id=vehicle.company_id, started_at=_utc(best.t), detected_at=now, ended_at=_utc(best.t),
            lon=case.lon, lat=case.lat, status="open", case_id=case.id,
            appeal_due_at=now + timedelta(days=settings.fleet_appeal_days),
            details={"case_number": case.number, "distance_m": best.distance_m, "radius_m": settings.spill_radius_m,
                     "reported_at": at.isoformat(), "candidates": [o.model_dump(mode="json") for o in out[:5]]},
            evidence={"plate": vehicle.plate, "kind": "spilling", "kind_name": KINDS["spilling"][0],
                      "passed_at": _utc(best.t).isoformat(), "distance_m": best.distance_m,
                      "track": [[int(r[0]), round(r[1], 6), round(r[2], 6)] for r in tracks[vehicle.id][:120]]})
        session.add(existing)
        session.flush()
    plate = session.get_one(Vehicle, existing.vehicle_id).plate if existing else None
    return SpillOut(case_id=case.id, passes=out, violation_id=existing.id if existing else None, plate=plate)


def match_case(session: Session, settings: Settings, case_id: int, at: datetime | None, now: datetime) -> SpillOut:
    """The API's match: the case must be a spill report; commits once."""
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound("case-not-found", f"案件 {case_id} 不存在", f"Case {case_id} not found")
    if case.category_code not in settings.spill_categories:
        raise Invalid("not-a-spill", f"案件类别 {case.category_code} 不是道路遗撒（抛撒）类",
                      f"Case category {case.category_code} is not a spill matter "
                      f"({', '.join(settings.spill_categories)})")
    out = match_spill(session, settings, case, at or case.created_at, now)
    session.commit()
    return out


def record_check(session: Session, settings: Settings, body: SpotCheckIn, actor: Actor, now: datetime) -> SpotCheckOut:
    """Record a roadside check; a failed one becomes a spot_check violation of the truck's company. Commits once."""
    if bad := domain.unknown_items(body.items):
        raise Invalid("unknown-check-item", f"未知的检查项：{'、'.join(bad[:10])}（可选 {'、'.join(domain.CHECK_ITEMS)}）",
                      f"unknown check items: {', '.join(bad[:10])} (use {', '.join(domain.CHECK_ITEMS)})")
    if body.checked_at > now + timedelta(minutes=5):
        raise Invalid("check-in-future", "检查时间不能晚于当前时间", "checked_at is in the future")
    vehicle = session.scalar(select(Vehicle).where(Vehicle.plate == body.plate.strip().upper()))
    if vehicle is None:
        raise Invalid("unknown-plate", f"未登记的渣土车：{body.plate}", f"No registered muck truck {body.plate}")
    result, failed = domain.check_result(body.items)
    check = SpotCheck(vehicle_id=vehicle.id, company_id=vehicle.company_id, plate=vehicle.plate,
                      checked_by=actor.id, checker_name=body.checker_name or actor.display_name,
                      checked_at=body.checked_at, lon=body.lon, lat=body.lat, address=body.address,
                      items=body.items, result=result, note=body.note, created_at=now)
    session.add(check)
    session.flush()
    if failed:
        v = Violation(key=f"{vehicle.id}:spot_check:{check.id}", kind="spot_check", vehicle_id=vehicle.id,
                      company_id=vehicle.company_id, started_at=body.checked_at, detected_at=now,
                      ended_at=body.checked_at, lon=body.lon, lat=body.lat, status="open", case_error=NO_CASE,
                      appeal_due_at=now + timedelta(days=settings.fleet_appeal_days),
                      details={"check_id": check.id, "failed": failed,
                               "failed_names": [domain.CHECK_ITEMS[k][0] for k in failed], "checker": check.checker_name},
                      evidence={"plate": vehicle.plate, "kind": "spot_check", "kind_name": KINDS["spot_check"][0],
                                "items": body.items, "address": body.address, "note": body.note})
        session.add(v)
        session.flush()
        check.violation_id = v.id
    session.commit()
    return check_out(check)


def check_out(c: SpotCheck) -> SpotCheckOut:
    """The API shape of a check."""
    return SpotCheckOut(id=c.id, plate=c.plate, vehicle_id=c.vehicle_id, company_id=c.company_id,
                        checker_name=c.checker_name, checked_at=c.checked_at, lon=c.lon, lat=c.lat, address=c.address,
                        items=c.items, result=c.result,
                        failed=[domain.CHECK_ITEMS[k][0] for k in domain.check_result(c.items)[1]],
                        note=c.note, violation_id=c.violation_id)


def checks(session: Session, actor: Actor, company_id: int | None, vehicle_id: int | None, result: str | None,
           limit: int = 200) -> list[SpotCheckOut]:
    """Checks, newest first; a company user sees only its own company's."""
    scope = access.scope(session, actor)
    stmt = select(SpotCheck).order_by(SpotCheck.checked_at.desc(), SpotCheck.id.desc()).limit(limit)
    for col, value in ((SpotCheck.company_id, scope), (SpotCheck.company_id, company_id),
                       (SpotCheck.vehicle_id, vehicle_id), (SpotCheck.result, result)):
        if value is not None:
            stmt = stmt.where(col == value)
    return [check_out(c) for c in session.scalars(stmt)]


def company_records(session: Session, actor: Actor) -> list[dict[str, Any]]:
    """Per company: roadside checks (total, failed) and 沿街抛撒 violations — the counts in its record."""
    scope = access.scope(session, actor)
    totals = {(cid, r): n for cid, r, n in session.execute(
        select(SpotCheck.company_id, SpotCheck.result, func.count()).group_by(SpotCheck.company_id, SpotCheck.result))}
    spills = dict(session.execute(select(Violation.company_id, func.count()).where(Violation.kind == "spilling")
                                  .group_by(Violation.company_id)).all())
    stmt = select(Company).order_by(Company.id)
    if scope is not None:
        stmt = stmt.where(Company.id == scope)
    return [{"company_id": c.id, "name": c.name,
             "spot_checks": totals.get((c.id, domain.PASS), 0) + totals.get((c.id, domain.FAIL), 0),
             "spot_checks_failed": totals.get((c.id, domain.FAIL), 0), "spills": spills.get(c.id, 0)}
            for c in session.scalars(stmt)]
