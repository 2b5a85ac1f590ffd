"""One-line publishers for other areas (sensors, fleet): each adds an event's notifications to the caller's
session, in the caller's transaction (no commit)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select

from cityloop.notify.service import Recipients, publish
from cityloop.org.models import Department
from sqlalchemy.orm import Session

if TYPE_CHECKING:  # fleet imports this module: its models are imported where they are used
    from cityloop.fleet.models import Appeal, Permit, Violation

DECISIONS = {"approved": "已批准", "rejected": "已驳回", "revoked": "已撤销", "upheld": "维持违规认定",
             "cancelled": "申诉成立，撤销违规认定"}


def alarm_raised(session: Session, alarm_id: int, department_code: str | None, device: str, level: str, subject: str,
                 text: str, now: datetime) -> None:
    """A sensor alarm was raised: tell the subscribers of the device's department (and unscoped robots)."""
    dept = session.scalar(select(Department.id).where(Department.code == department_code)) if department_code else None
    publish(session, "alarm_raised", {"subject": subject, "text": text, "device": device, "level": level,
                                      "department": department_code or "", "urgent": level in ("orange", "red")},
            Recipients(departments=[dept] if dept else []), event_key=f"alarm:{alarm_id}",
            link="/console/sensors", now=now)


def _company_users(session: Session, company_id: int) -> list[int]:
    from cityloop.fleet.models import CompanyUser

    return list(session.scalars(select(CompanyUser.user_id).where(CompanyUser.company_id == company_id)))


def permit_decided(session: Session, permit: Permit, now: datetime) -> None:
    """A muck-truck permit was approved, rejected or revoked: tell the company's users."""
    from cityloop.fleet.models import Company

    company = session.get_one(Company, permit.company_id)
    publish(session, "permit_decided", {"permit": permit.number or f"#{permit.id}", "company": company.name,
                                        "decision": DECISIONS.get(permit.status, permit.status),
                                        "note": permit.reason or ""},
            Recipients(users=_company_users(session, permit.company_id)),
            event_key=f"permit:{permit.id}:{permit.status}", link="/portal", now=now)


def appeal_decided(session: Session, violation: Violation, appeal: Appeal, now: datetime) -> None:
    """A violation appeal was decided: tell the company's users."""
    from cityloop.fleet.models import Company

    if violation.company_id is None:
        return
    company = session.get(Company, violation.company_id)
    publish(session, "appeal_decided", {"appeal": f"#{violation.id}", "company": company.name if company else "",
                                        "decision": DECISIONS.get(appeal.decision or "", appeal.decision),
                                        "note": appeal.decision_note or ""},
            Recipients(users=_company_users(session, violation.company_id)),
            event_key=f"appeal:{appeal.id}", link="/portal", now=now)
