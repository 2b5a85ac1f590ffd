"""The two city-mode workflow actions' effects: 下派 (city → district center) and 上报 (district → city)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from cityloop.org.models import User
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from cityloop.cases.api import Case, ActionIn, Ctx


def has_center(session: Session, district_code: str) -> bool:
    """Whether a district center (any active staff user of that district) exists to take the case."""
    return session.scalar(select(User.id).where(User.district_code == district_code, User.active.is_(True))
                          .limit(1)) is not None


def hand_down(ctx: Ctx, case: Case, body: ActionIn, target: str | None) -> dict[str, Any]:
    """下派: the case becomes its district center's (the district it lies in)."""
    case.handling_district = case.district_code
    return {"district_code": case.district_code}


def escalate(ctx: Ctx, case: Case, body: ActionIn, target: str | None) -> dict[str, Any]:
    """上报市级协调: the case becomes the city center's again, with the district's reason (note)."""
    district, case.handling_district = case.handling_district, None
    return {"district_code": district}
