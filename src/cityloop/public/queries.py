"""Read side of public services: nearby services, the public map's points, closed cases without personal data,
placement batches, campaign lists and statistics."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from cityloop.cases.api import Case
from cityloop.catalog.models import Category
from cityloop.config import Settings
from cityloop.public import domain
from cityloop.public.models import CallAttempt, CallCampaign, CallStop, QrPlacement, ServicePoint

CASE_DECIMALS = 3  # closed cases are shown to about 100 m, never at the reporter's doorstep
MAX_PUBLIC_CASES = 5000


def kind_name(kind: str, english: bool) -> str:
    zh, en, _ = domain.KINDS.get(kind, (kind, kind, False))
    return en if english else zh


def _guide_points(session: Session, kinds: list[str] | None, bbox: tuple[float, float, float, float] | None
                  ) -> list[ServicePoint]:
    stmt = select(ServicePoint).where(ServicePoint.state == "active",
                                      ServicePoint.kind.in_(kinds or domain.GUIDE_KINDS))
    if bbox:
        stmt = stmt.where(ServicePoint.lon.between(bbox[0], bbox[2]), ServicePoint.lat.between(bbox[1], bbox[3]))
    return list(session.scalars(stmt.order_by(ServicePoint.id)))


def nearby(session: Session, settings: Settings, lon: float, lat: float, now: datetime, *,
           kinds: list[str] | None = None, limit: int = 5, english: bool = False) -> list[dict[str, Any]]:
    """The nearest public services by estimated walking distance, with direction and whether open now."""
    reach = settings.public_nearby_max_m / settings.public_walk_detour
    dlat = reach / 111_320
    dlon = dlat / max(math.cos(math.radians(lat)), 0.01)
    points = {p.id: p for p in _guide_points(session, kinds, (lon - dlon, lat - dlat, lon + dlon, lat + dlat))}
    spots = [domain.Spot(p.id, p.kind, p.name, p.lon, p.lat, p.hours) for p in points.values()]
    local = now.astimezone(ZoneInfo(settings.timezone)).time()
    ranked = domain.rank_nearest(lon, lat, spots, limit=limit, max_walk_m=settings.public_nearby_max_m, at=local,
                                 detour=settings.public_walk_detour, speed_m_min=settings.public_walk_speed_m_min)
    out = []
    for r in ranked:
        p = points[r.spot.id]
        out.append({"id": p.id, "kind": p.kind, "kind_name": kind_name(p.kind, english), "name": p.name,
                    "address": p.address, "lon": p.lon, "lat": p.lat, "walk_m": int(round(r.walk_m)),
                    "minutes": r.minutes, "direction": r.direction(english), "hours": p.hours,
                    "open_now": r.open_now, "free": p.free, "drinking_water": p.drinking_water,
                    "accessible": p.accessible, "kit": p.kit})
    return out


def guide(session: Session, settings: Settings, lon: float, lat: float, now: datetime, english: bool) -> list[dict[str, Any]]:
    """The phone page's sections: the nearest of each public kind (toilets first), kinds with nothing near left out."""
    order = ["toilet", "water", "red_station", "convenience", "medical", "transit", "food", "lodging", "shopping"]
    sections = []
    for kind in order:
        items = nearby(session, settings, lon, lat, now, kinds=[kind], limit=3, english=english)
        if items:
            sections.append({"kind": kind, "name": kind_name(kind, english), "items": items})
    return sections


def public_points(session: Session, kinds: list[str] | None, english: bool) -> dict[str, Any]:
    """Active public service points as GeoJSON (what the public map shows)."""
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": p.id, "geometry": {"type": "Point", "coordinates": [p.lon, p.lat]},
         "properties": {"kind": p.kind, "kind_name": kind_name(p.kind, english), "name": p.name, "address": p.address,
                        "hours": p.hours, "free": p.free, "drinking_water": p.drinking_water,
                        "accessible": p.accessible, "kit": p.kit}}
        for p in _guide_points(session, kinds, None)]}


def closed_cases(session: Session, settings: Settings, now: datetime, english: bool) -> dict[str, Any]:
    """Cases closed recently as GeoJSON: position rounded to ~100 m, category and closing date — no description,
    address, photos, names or phone numbers."""
    since = now - timedelta(days=settings.public_case_days)
    tz = ZoneInfo(settings.timezone)
    name = Category.name_en if english else Category.name
    rows = session.execute(
        select(Case.lon, Case.lat, Case.category_code, func.coalesce(name, Category.name), Category.major_name,
               Case.closed_at)
        .join(Category, Category.id == Case.category_id)
        .where(Case.stage == "closed", Case.closed_at >= since)
        .order_by(Case.closed_at.desc()).limit(MAX_PUBLIC_CASES)).all()
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [round(lon, CASE_DECIMALS),
                                                                          round(lat, CASE_DECIMALS)]},
         "properties": {"category_code": code, "category": cat, "major": major,
                        "closed_on": closed.astimezone(tz).date().isoformat()}}
        for lon, lat, code, cat, major, closed in rows if closed is not None]}  # closed_at >= since: never None


def batches(session: Session) -> list[dict[str, Any]]:
    """Placement batches: how many codes, how many active, how many scans."""
    rows = session.execute(
        select(QrPlacement.batch, func.count(), func.sum(case((QrPlacement.active.is_(True), 1), else_=0)),
               func.coalesce(func.sum(QrPlacement.scans), 0), func.max(QrPlacement.last_scan_at))
        .group_by(QrPlacement.batch).order_by(QrPlacement.batch)).all()
    return [{"batch": b, "codes": int(n), "active": int(a or 0), "scans": int(s), "last_scan_at": last}
            for b, n, a, s, last in rows]


def placements(session: Session, batch: str | None, limit: int, offset: int) -> list[QrPlacement]:
    """Placements, most scanned first."""
    stmt = select(QrPlacement).order_by(QrPlacement.scans.desc(), QrPlacement.id)
    if batch:
        stmt = stmt.where(QrPlacement.batch == batch)
    return list(session.scalars(stmt.limit(limit).offset(offset)))


def service_points(session: Session, kind: str | None, q: str | None, limit: int, offset: int) -> list[ServicePoint]:
    """Service points for staff, by kind and name."""
    stmt = select(ServicePoint).order_by(ServicePoint.kind, ServicePoint.id)
    if kind:
        stmt = stmt.where(ServicePoint.kind == kind)
    if q:
        stmt = stmt.where(ServicePoint.name.contains(q) | ServicePoint.code.contains(q))
    return list(session.scalars(stmt.limit(limit).offset(offset)))


def campaigns(session: Session, status: str | None, case_id: int | None, limit: int,
              offset: int) -> list[CallCampaign]:
    """Campaigns, newest first."""
    stmt = select(CallCampaign).order_by(CallCampaign.started_at.desc(), CallCampaign.id.desc())
    if status:
        stmt = stmt.where(CallCampaign.status == status)
    if case_id:
        stmt = stmt.where(CallCampaign.case_id == case_id)
    return list(session.scalars(stmt.limit(limit).offset(offset)))


def attempts(session: Session, campaign_id: int) -> list[CallAttempt]:
    """A campaign's calls, in order."""
    return list(session.scalars(select(CallAttempt).where(CallAttempt.campaign_id == campaign_id)
                                .order_by(CallAttempt.at, CallAttempt.id)))


def campaign_stats(session: Session, since: datetime | None = None) -> dict[str, Any]:
    """Campaigns by status and stop reason, calls made and answered, numbers cleared."""
    stmt = select(CallCampaign.status, CallCampaign.stop_reason, func.count(),
                  func.coalesce(func.sum(CallCampaign.calls), 0), func.coalesce(func.sum(CallCampaign.answered), 0)
                  ).group_by(CallCampaign.status, CallCampaign.stop_reason)
    if since is not None:
        stmt = stmt.where(CallCampaign.started_at >= since)
    by_status: dict[str, int] = {"running": 0, "cleared": 0, "ended": 0, "stopped": 0}
    by_reason: dict[str, int] = {}
    calls = answered = 0
    for status, reason, n, c, a in session.execute(stmt):
        by_status[status] = by_status.get(status, 0) + int(n)
        if reason:
            by_reason[reason] = by_reason.get(reason, 0) + int(n)
        calls, answered = calls + int(c), answered + int(a)
    total = sum(by_status.values())
    ended = total - by_status["running"]
    return {"campaigns": total, "by_status": by_status, "by_reason": by_reason, "calls": calls, "answered": answered,
            "cleared_rate": round(by_status["cleared"] / ended, 3) if ended else None}


def stop_list(session: Session) -> list[CallStop]:
    """The stop list, newest first."""
    return list(session.scalars(select(CallStop).order_by(CallStop.added_at.desc(), CallStop.id.desc())))
