"""上报审核: the queue of reports waiting for 受理, with what an operator needs to decide on each."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cityloop.cases.api import SOURCE_NAMES, Case, CasePhoto, mask_phone, visible
from cityloop.catalog.models import Category
from cityloop.channels import evidence, queries
from cityloop.channels.models import ChannelReport, PhotoEvidence
from cityloop.config import Settings
from cityloop.org.actor import Actor


def queue(session: Session, writes_factory: sessionmaker[Session], settings: Settings, now: datetime, actor: Actor,
          page: int, size: int) -> list[dict[str, Any]]:
    """One page of reports waiting for 受理 (oldest deadline first) that the actor may see, each with its channel's
    tracking code, suggested parent cases, photos and photo-evidence flags (checked now, in their own transaction)."""
    tz = ZoneInfo(settings.timezone)
    waiting = visible(select(Case).where(Case.stage == "reported"), session, actor)
    cases = list(session.scalars(waiting.order_by(Case.node_due_at, Case.id).offset((page - 1) * size).limit(size)))
    ids = [c.id for c in cases]
    flags: dict[int, list[str]] = {}
    with writes_factory() as writes:  # check their photos now; read the flags back from the same session
        evidence.examine(writes, settings, now, ids)
        for case_id, found in writes.execute(select(PhotoEvidence.case_id, PhotoEvidence.flags)
                                             .where(PhotoEvidence.case_id.in_(ids))):
            flags.setdefault(case_id, []).extend(f for f in found or [] if f not in flags.get(case_id, []))
    codes = dict(session.execute(select(ChannelReport.case_id, ChannelReport.tracking_code)
                                 .where(ChannelReport.case_id.in_(ids))).all())
    names = dict(session.execute(select(Category.id, Category.name)
                                 .where(Category.id.in_({c.category_id for c in cases}))).all())
    dups = {cid: [d.model_dump(mode="json") for d in found] for cid, found in queries.duplicates_of(
        session, cases, settings.duplicate_radius_m, settings.duplicate_window_hours).items()}
    photos: dict[int, list[int]] = {}
    shown = set(ids) | {d["id"] for ds in dups.values() for d in ds}
    for photo_id, case_id in session.execute(select(CasePhoto.id, CasePhoto.case_id)
                                             .where(CasePhoto.case_id.in_(shown)).order_by(CasePhoto.id)):
        photos.setdefault(case_id, []).append(photo_id)
    for ds in dups.values():
        for d in ds:
            d["photos"] = photos.get(d["id"], [])[:3]
    return [{"id": c.id, "number": c.number, "source": c.source,
             "source_name": SOURCE_NAMES.get(c.source, (c.source,))[0], "category_code": c.category_code,
             "category_name": names.get(c.category_id, ""), "description": c.description, "address": c.address,
             "lon": c.lon, "lat": c.lat, "photos": photos.get(c.id, []), "reporter_name": c.reporter_name,
             "reporter_phone": mask_phone(c.reporter_phone) if c.reporter_phone else None,
             "tracking_code": codes.get(c.id), "node_due_at": c.node_due_at.isoformat() if c.node_due_at else None,
             "created_at": c.created_at.astimezone(tz).isoformat(), "flags": flags.get(c.id, []), "duplicates": dups[c.id]}
            for c in cases]
