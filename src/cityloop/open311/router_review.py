"""公开照片: staff decide which of a case's photos (and the citizen's own media_url) the public Open311 feed may
show; nothing is public until someone has looked for faces and number plates. Each decision is audited."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.audit import service as audit
from cityloop.cases.models import Case, CasePhoto
from cityloop.cases.queries import get_visible
from cityloop.channels.models import ChannelReport
from cityloop.deps import get_session, require_roles
from cityloop.org.actor import Actor
from cityloop.shared.errors import Invalid

router = APIRouter(prefix="/api/v1/cases", tags=["open311 GeoReport v2"])
REVIEWERS = ("operator", "shift_lead")


class PublicationIn(BaseModel):
    """Which photos are public from now on (all others are not) and whether the reporter's media_url is."""

    model_config = ConfigDict(extra="forbid")
    photo_ids: list[int] = Field(default_factory=list, max_length=50)
    media_url: bool = False


class PublicationOut(BaseModel):
    """What the public feed shows of a case's pictures."""

    photo_ids: list[int]
    media_url: bool


def _state(session: Session, case: Case) -> PublicationOut:
    ids = session.scalars(select(CasePhoto.id).where(CasePhoto.case_id == case.id, CasePhoto.public.is_(True))
                          .order_by(CasePhoto.id))
    row = session.scalar(select(ChannelReport).where(ChannelReport.case_id == case.id))
    return PublicationOut(photo_ids=list(ids), media_url=bool(row and row.media_public))


@router.get("/{ident}/publication", response_model=PublicationOut)
def publication(ident: str, session: Session = Depends(get_session),
                actor: Actor = Depends(require_roles(*REVIEWERS))):
    """公开照片 / Which pictures of a case the public Open311 feed shows."""
    return _state(session, get_visible(session, actor, ident))


@router.put("/{ident}/publication", response_model=PublicationOut)
def publish(ident: str, body: PublicationIn, request: Request, session: Session = Depends(get_session),
            actor: Actor = Depends(require_roles(*REVIEWERS))):
    """公开照片 / Set which photos of a case (and whether the reporter's media_url) the public feed may show,
    after checking them for faces and number plates."""
    case = get_visible(session, actor, ident)
    photos = list(session.scalars(select(CasePhoto).where(CasePhoto.case_id == case.id)))
    unknown = set(body.photo_ids) - {p.id for p in photos}
    if unknown:
        raise Invalid("unknown-photo", f"照片不属于案件 {case.number}：{sorted(unknown)[:5]}",
                      f"Photos not of case {case.number}: {sorted(unknown)[:5]}")
    row = session.scalar(select(ChannelReport).where(ChannelReport.case_id == case.id))
    if body.media_url and (row is None or not row.media_url):
        raise Invalid("no-media-url", "该案件没有上报人提供的 media_url", "The case has no media_url from its reporter")
    for p in photos:
        p.public = p.id in body.photo_ids
    if row is not None:
        row.media_public = body.media_url
    audit.record(session, actor, "case.publication", case.number,
                 {"photo_ids": sorted(set(body.photo_ids)), "media_url": body.media_url},
                 request.app.state.clock.now())
    session.commit()
    return _state(session, case)
