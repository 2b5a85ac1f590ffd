"""公开照片: which of a case's photos (and the citizen's own media_url) the public Open311 feed may show; nothing is
public until someone has looked for faces and number plates. Each decision is audited."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.audit import service as audit
from cityloop.cases.api import Case, CasePhoto
from cityloop.channels.models import ChannelReport
from cityloop.org.actor import Actor
from cityloop.shared.errors import Invalid


def shown(session: Session, case: Case) -> dict[str, Any]:
    """{photo_ids, media_url}: what the public feed shows of a case's pictures."""
    ids = session.scalars(select(CasePhoto.id).where(CasePhoto.case_id == case.id, CasePhoto.public.is_(True))
                          .order_by(CasePhoto.id))
    row = session.scalar(select(ChannelReport).where(ChannelReport.case_id == case.id))
    return {"photo_ids": list(ids), "media_url": bool(row and row.media_public)}


def publish(session: Session, actor: Actor, case: Case, photo_ids: list[int], media_url: bool, now: datetime) -> dict[str, Any]:
    """Make exactly `photo_ids` public (and the reporter's media_url when asked), audited; one commit."""
    photos = list(session.scalars(select(CasePhoto).where(CasePhoto.case_id == case.id)))
    unknown = set(photo_ids) - {p.id for p in photos}
    if unknown:
        raise Invalid("unknown-photo", f"照片不属于案件 {case.number}：{sorted(unknown)[:5]}",
                      f"Photos not of case {case.number}: {sorted(unknown)[:5]}")
    row = session.scalar(select(ChannelReport).where(ChannelReport.case_id == case.id))
    if media_url and (row is None or not row.media_url):
        raise Invalid("no-media-url", "该案件没有上报人提供的 media_url", "The case has no media_url from its reporter")
    for p in photos:
        p.public = p.id in photo_ids
    if row is not None:
        row.media_public = media_url
    audit.record(session, actor, "case.publication", case.number,
                 {"photo_ids": sorted(set(photo_ids)), "media_url": media_url}, now)
    session.commit()
    return shown(session, case)
