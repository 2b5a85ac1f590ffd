"""公开照片 endpoints: staff decide which of a case's photos the public Open311 feed may show (see publication)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from cityloop.cases.api import get_visible
from cityloop.deps import ClockDep, SessionDep, require_roles
from cityloop.open311 import publication as publication_service
from cityloop.org.actor import Actor

router = APIRouter(prefix="/api/v1/cases", tags=["open311 GeoReport v2"])
REVIEWERS = ("operator", "shift_lead")
ReviewerDep = Annotated[Actor, Depends(require_roles(*REVIEWERS))]


class PublicationIn(BaseModel):
    """Which photos are public from now on (all others are not) and whether the reporter's media_url is."""

    model_config = ConfigDict(extra="forbid")
    photo_ids: list[int] = Field(default_factory=list, max_length=50)
    media_url: bool = False


class PublicationOut(BaseModel):
    """What the public feed shows of a case's pictures."""

    photo_ids: list[int]
    media_url: bool


@router.get("/{ident}/publication", response_model=PublicationOut)
def publication(ident: str, session: SessionDep, actor: ReviewerDep) -> dict[str, Any]:
    """公开照片 / Which pictures of a case the public Open311 feed shows."""
    return publication_service.shown(session, get_visible(session, actor, ident))


@router.put("/{ident}/publication", response_model=PublicationOut)
def publish(ident: str, body: PublicationIn, session: SessionDep, actor: ReviewerDep,
            clock: ClockDep) -> dict[str, Any]:
    """公开照片 / Set which photos of a case (and whether the reporter's media_url) the public feed may show,
    after checking them for faces and number plates."""
    return publication_service.publish(session, actor, get_visible(session, actor, ident), body.photo_ids,
                                       body.media_url, clock.now())
