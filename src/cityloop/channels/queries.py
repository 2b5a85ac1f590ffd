"""Read side of the channels: open cases near a point (hotline form, duplicate suggestions), categories an inspector
is likely to pick, and a case's photo evidence."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityloop.cases.api import OPEN_STAGES, STAGES, Stage, Case, CasePhoto, visible
from cityloop.catalog.models import Category
from cityloop.channels.domain import FLAG_NAMES, degrees_around, haversine_m
from cityloop.channels.models import PhotoEvidence
from cityloop.channels.schemas import CategorySuggestion, EvidenceOut, NearbyCase
from cityloop.org.actor import Actor


def nearby_open(session: Session, lon: float, lat: float, radius_m: float, since: datetime,
                category_code: str | None = None, exclude_id: int | None = None, until: datetime | None = None,
                limit: int = 20, actor: Actor | None = None) -> list[NearbyCase]:
    """Open cases within radius_m of a point reported since a time, nearest first (only those the actor may see,
    when one is given: an inspector sees his duty grids' cases, not the next grid's)."""
    dlon, dlat = degrees_around(lat, radius_m)
    stmt = (select(Case, Category.name).join(Category, Category.id == Case.category_id)
            .where(Case.stage.in_(OPEN_STAGES), Case.created_at >= since,
                   Case.lon.between(lon - dlon, lon + dlon), Case.lat.between(lat - dlat, lat + dlat)))
    if actor is not None:
        stmt = visible(stmt, session, actor)
    if category_code:
        stmt = stmt.where(Case.category_code == category_code)
    if exclude_id is not None:
        stmt = stmt.where(Case.id != exclude_id)
    if until is not None:
        stmt = stmt.where(Case.created_at <= until)
    found = []
    for case, name in session.execute(stmt.limit(500)):
        distance = haversine_m(lon, lat, case.lon, case.lat)
        if distance <= radius_m:
            found.append(NearbyCase(id=case.id, number=case.number, stage=case.stage, stage_name=STAGES[Stage(case.stage)][0],
                                    category_code=case.category_code, category_name=name,
                                    description=case.description[:200], address=case.address,
                                    distance_m=round(distance, 1), created_at=case.created_at))
    found.sort(key=lambda c: (c.distance_m, c.id))
    return found[:limit]


def duplicates(session: Session, case: Case, radius_m: float, window_hours: float,
               actor: Actor | None = None) -> list[NearbyCase]:
    """Earlier open cases of the same matter near this one: candidates for the parent it should be merged into."""
    return nearby_open(session, case.lon, case.lat, radius_m, case.created_at - timedelta(hours=window_hours),
                       case.category_code, exclude_id=case.id, until=case.created_at, actor=actor)


def duplicates_of(session: Session, cases: list[Case], radius_m: float, window_hours: float,
                  limit: int = 20) -> dict[int, list[NearbyCase]]:
    """`duplicates` for a page of cases in one query: the open cases of their matters reported in their windows,
    matched to each case here (the same rules: same matter, earlier within the window, within radius_m)."""
    if not cases:
        return {}
    window = timedelta(hours=window_hours)
    stmt = (select(Case, Category.name).join(Category, Category.id == Case.category_id)
            .where(Case.stage.in_(OPEN_STAGES), Case.category_code.in_({c.category_code for c in cases}),
                   Case.created_at >= min(c.created_at for c in cases) - window,
                   Case.created_at <= max(c.created_at for c in cases)))
    by_matter: dict[str, list[tuple[Case, str]]] = {}
    for other, name in session.execute(stmt):
        by_matter.setdefault(other.category_code, []).append((other, name))
    out = {}
    for case in cases:
        found = []
        for other, name in by_matter.get(case.category_code, []):
            if other.id == case.id or not case.created_at - window <= other.created_at <= case.created_at:
                continue
            distance = haversine_m(case.lon, case.lat, other.lon, other.lat)
            if distance <= radius_m:
                found.append(NearbyCase(id=other.id, number=other.number, stage=other.stage,
                                        stage_name=STAGES[Stage(other.stage)][0], category_code=other.category_code,
                                        category_name=name, description=other.description[:200],
                                        address=other.address, distance_m=round(distance, 1),
                                        created_at=other.created_at))
        found.sort(key=lambda c: (c.distance_m, c.id))
        out[case.id] = found[:limit]
    return out


def suggest_categories(session: Session, actor: Actor, standard: str, lon: float | None, lat: float | None,
                       since: datetime, radius_m: float = 300) -> list[CategorySuggestion]:
    """Every matter of the catalog, the reporter's recent ones first, then those reported nearby lately."""
    matters = list(session.execute(select(Category.code, Category.name, Category.major_name).where(
        Category.standard == standard, Category.kind == "matter", Category.active.is_(True)).order_by(Category.code)))
    recent = list(session.scalars(select(Case.category_code).where(Case.reporter_id == actor.id,
                                                                   Case.created_at >= since)
                                  .group_by(Case.category_code).order_by(func.max(Case.created_at).desc()).limit(8))
                  ) if actor.id is not None else []
    nearby: list[str] = []
    if lon is not None and lat is not None:
        dlon, dlat = degrees_around(lat, radius_m)
        nearby = list(session.scalars(
            select(Case.category_code).where(Case.created_at >= since, Case.lon.between(lon - dlon, lon + dlon),
                                             Case.lat.between(lat - dlat, lat + dlat))
            .group_by(Case.category_code).order_by(func.count().desc()).limit(8)))
    names = {code: (name, major) for code, name, major in matters}
    out: list[CategorySuggestion] = []
    seen: set[str] = set()
    reasons: tuple[tuple[Literal["recent", "nearby", "catalog"], list[str]], ...] = (
        ("recent", recent), ("nearby", nearby), ("catalog", list(names)))
    for reason, codes in reasons:
        for code in codes:
            if code in names and code not in seen:
                seen.add(code)
                out.append(CategorySuggestion(code=code, name=names[code][0], major_name=names[code][1], reason=reason))
    return out


def evidence(session: Session, case: Case, english: bool = False) -> list[EvidenceOut]:
    """The evidence checks of a case's photos, in upload order (photos not yet checked are left out)."""
    rows = session.execute(select(PhotoEvidence, CasePhoto.event_seq)
                           .join(CasePhoto, CasePhoto.id == PhotoEvidence.photo_id)
                           .where(PhotoEvidence.case_id == case.id).order_by(PhotoEvidence.photo_id))
    return [EvidenceOut(photo_id=e.photo_id, event_seq=seq, exif_time=e.exif_time, exif_lon=e.exif_lon,
                        exif_lat=e.exif_lat, distance_m=e.distance_m, gap_minutes=e.gap_minutes, phash=e.phash,
                        flags=e.flags or [],
                        flag_names=[FLAG_NAMES.get(f, (f, f))[1 if english else 0] for f in e.flags or []],
                        matches=e.matches or []) for e, seq in rows]
