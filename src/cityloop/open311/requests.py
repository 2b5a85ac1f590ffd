"""GET requests: cases as GeoReport service requests. Internal stages map to open/closed; agency_responsible is the
department the case is dispatched to and expected_datetime its handling deadline; `extensions=true` adds the channel,
grid, department, detailed stage, duplicate/parent id and the public notes history."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, aliased

from cityloop.cases.api import OPEN_STAGES, STAGES, TERMINAL, Stage, Case, CaseEvent, CaseNode, CasePhoto
from cityloop.catalog.models import Category
from cityloop.channels.domain import CHANNEL_NAMES, PUBLIC_STAGES, open311_status, public_steps
from cityloop.channels.models import ChannelReport
from cityloop.geo.models import Region
from cityloop.open311.domain import reviewed, rounded, scrubbed
from cityloop.open311.formats import w3c
from cityloop.org.models import Department

MAX_DAYS = 90
MAX_REQUESTS = 1000


@dataclass
class Filters:
    """Parsed GET requests arguments (empty ones already dropped)."""

    ids: list[str] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    start: datetime | None = None
    end: datetime | None = None
    updated_after: datetime | None = None
    updated_before: datetime | None = None
    page: int = 1
    page_size: int = MAX_REQUESTS
    extensions: bool = False


def window(f: Filters, now: datetime) -> tuple[datetime | None, datetime | None]:
    """The requested_datetime range: at most 90 days (a longer one is cut to the 90 days before end_date); by
    default the most recent 90 days, unless the caller asks for a change feed by updated_after/updated_before."""
    start, end = f.start, f.end
    if start and end and end - start > timedelta(days=MAX_DAYS):
        start = end - timedelta(days=MAX_DAYS)
    if start and not end:
        end = start + timedelta(days=MAX_DAYS)
    elif end and not start:
        start = end - timedelta(days=MAX_DAYS)
    elif not start and not (f.updated_after or f.updated_before):
        start, end = now - timedelta(days=MAX_DAYS), None
    return start, end


def query(f: Filters, now: datetime, district: str | None, stages: frozenset[str]) -> Select[Case]:
    """The published cases a GET requests call asks for, newest first."""
    stmt = select(Case).where(Case.stage.in_(stages))
    if district:
        stmt = stmt.where(Case.district_code == district)
    if f.ids:
        return stmt.where(Case.public_id.in_(f.ids[:MAX_REQUESTS])).order_by(Case.id.desc())
    if f.codes:
        stmt = stmt.where(Case.category_code.in_(f.codes))
    wanted = set(f.statuses)
    if wanted == {"open"}:
        stmt = stmt.where(Case.stage.in_(OPEN_STAGES))
    elif wanted == {"closed"}:
        stmt = stmt.where(Case.stage.in_(TERMINAL))
    start, end = window(f, now)
    if start:
        stmt = stmt.where(Case.created_at >= start)
    if end:
        stmt = stmt.where(Case.created_at <= end)
    if f.updated_after:
        stmt = stmt.where(Case.updated_at >= f.updated_after)
    if f.updated_before:
        stmt = stmt.where(Case.updated_at <= f.updated_before)
    return stmt.order_by(Case.created_at.desc(), Case.id.desc())


def find(session: Session, f: Filters, now: datetime, district: str | None, stages: frozenset[str]) -> list[Case]:
    """One page of matching published cases."""
    size = min(f.page_size, MAX_REQUESTS)
    return list(session.scalars(query(f, now, district, stages).offset((f.page - 1) * size).limit(size)))


def published(session: Session, public_id: str, district: str | None, stages: frozenset[str]) -> Case | None:
    """The published case with this public id (a case number never resolves)."""
    case = session.scalar(select(Case).where(Case.public_id == public_id[:24]))
    if case is None or case.stage not in stages or (district and case.district_code != district):
        return None
    return case


def public_photo(session: Session, public_id: str, photo_id: int, stages: frozenset[str]) -> CasePhoto | None:
    """A photo staff have made public, of a published case."""
    return session.scalar(select(CasePhoto).join(Case, Case.id == CasePhoto.case_id).where(
        CasePhoto.id == photo_id, CasePhoto.public.is_(True), Case.public_id == public_id[:24],
        Case.stage.in_(stages)))


def to_requests(session: Session, cases: list[Case], base: str, extensions: bool, english: bool,
                decimals: int) -> list[dict[str, Any]]:
    """Service request documents for published cases, with every label read in a handful of queries: positions
    rounded, description and address only once reviewed, photos only once made public, never the reporter."""
    if not cases:
        return []
    ids = [c.id for c in cases]
    names = dict(session.execute(select(Category.id, Category.name)
                                 .where(Category.id.in_({c.category_id for c in cases}))).all())
    depts: dict[int | None, Department] = {d.id: d for d in session.scalars(select(Department).where(
        Department.id.in_({c.department_id for c in cases} - {None})))}
    regions = dict(session.execute(select(Region.code, Region.name).where(
        Region.code.in_({c.community_code for c in cases} | {c.street_code for c in cases}))).all())
    expected = dict(session.execute(select(CaseNode.case_id, func.max(CaseNode.due_at))
                                    .where(CaseNode.case_id.in_(ids), CaseNode.node == "handle")
                                    .group_by(CaseNode.case_id)).all())
    photos = dict(session.execute(select(CasePhoto.case_id, func.min(CasePhoto.id))
                                  .where(CasePhoto.case_id.in_(ids), CasePhoto.public.is_(True))
                                  .group_by(CasePhoto.case_id)).all())
    media = dict(session.execute(select(ChannelReport.case_id, ChannelReport.media_url)
                                 .where(ChannelReport.case_id.in_(ids), ChannelReport.media_url.is_not(None),
                                        ChannelReport.media_public.is_(True))).all())
    parent = aliased(Case)
    parents = dict(session.execute(select(Case.id, parent.public_id).join(parent, parent.id == Case.merged_into_id)
                                   .where(Case.id.in_(ids))).all())
    notes: dict[int, list[tuple[str, datetime]]] = {}
    if extensions:
        for case_id, action, at in session.execute(select(CaseEvent.case_id, CaseEvent.action, CaseEvent.at)
                                                   .where(CaseEvent.case_id.in_(ids))
                                                   .order_by(CaseEvent.case_id, CaseEvent.seq)):
            notes.setdefault(case_id, []).append((action, at))
    out: list[dict[str, Any]] = []
    for c in cases:
        dept = depts.get(c.department_id)
        stage_zh, stage_en = PUBLIC_STAGES[c.stage]
        status_notes = stage_en if english else stage_zh
        if c.id in parents:
            status_notes += f" → {parents[c.id]}"
        photo_url = f"{base}/open311/v2/media/{c.public_id}/{photos[c.id]}.jpg" if c.id in photos else None
        shown = reviewed(c.stage)
        area = f"{regions.get(c.community_code, '')}{regions.get(c.street_code, '')}" or c.grid_code
        doc: dict[str, Any] = {
            "service_request_id": c.public_id, "status": open311_status(c.stage), "status_notes": status_notes,
            "service_name": names.get(c.category_id, c.category_code), "service_code": c.category_code,
            "description": scrubbed(c.description) if shown else None,
            "agency_responsible": dept.name if dept else None,
            "service_notice": None, "requested_datetime": w3c(c.created_at),
            "updated_datetime": w3c(c.closed_at if c.stage in TERMINAL and c.closed_at else c.updated_at),
            "expected_datetime": w3c(expected.get(c.id) or c.required_due_at),
            "address": (c.address if shown else None) or area,
            "lat": rounded(c.lat, decimals), "long": rounded(c.lon, decimals), "media_url": media.get(c.id) or photo_url,
        }
        if extensions:
            doc["extended_attributes"] = {
                "channel": c.source, "channel_name": CHANNEL_NAMES.get(c.source, (c.source, c.source))[int(english)],
                "stage": c.stage, "stage_name": STAGES[Stage(c.stage)][int(english)], "grid_code": c.grid_code,
                "duty_grid_code": c.duty_grid_code, "community_code": c.community_code, "street_code": c.street_code,
                "district_code": c.district_code, "department_code": dept.code if dept else None,
                "duplicate": c.merged_into_id is not None, "parent_service_request_id": parents.get(c.id),
                "photos": [{"media_url": photo_url}] if photo_url else [],
            }
            doc["notes"] = [{"datetime": w3c(at), "type": action, "summary": en if english else zh,
                             "description": en if english else zh}
                            for action, at, zh, en in public_steps(notes.get(c.id, []))]
        out.append(doc)
    return out
