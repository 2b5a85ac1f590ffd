"""便民服务 records: what grid workers did for people (directions, lost and found, lost persons, escorts) and the
thanks they received; the monthly figures feed the assessment pages."""

from __future__ import annotations

from typing import Any
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityloop.org.actor import Actor
from cityloop.public.models import ConvenienceRecord, ServicePoint
from cityloop.public.points import Locate
from cityloop.public.schemas import SERVICE_KINDS, ClaimIn, ConvenienceIn
from cityloop.shared.errors import Conflict, Invalid, NotFound

FUTURE_SLACK = timedelta(minutes=10)  # a phone clock a little ahead is fine; tomorrow is not
LATE_ENTRY = timedelta(days=366)  # services are logged within a year


def record(session: Session, body: ConvenienceIn, actor: Actor, locate: Locate, now: datetime) -> ConvenienceRecord:
    """Log a service given."""
    at = body.at or now
    if at.tzinfo is None:
        raise Invalid("naive-time", "时间须带时区", "The time needs a time zone")
    if at > now + FUTURE_SLACK:
        raise Invalid("future-time", "服务时间不能晚于现在", "The time of service is in the future")
    if at < now - LATE_ENTRY:
        raise Invalid("too-old", "只能补录一年内的服务", "Services older than a year cannot be logged")
    if (body.lon is None) != (body.lat is None):
        raise Invalid("half-position", "经度和纬度须同时填写", "Give both lon and lat, or neither")
    if body.kind == "lost_found" and not (body.items or "").strip():
        raise Invalid("items-required", "失物招领须登记物品", "Lost and found needs the items")
    if body.kind == "lost_person" and not (body.handed_to or "").strip():
        raise Invalid("handover-required", "寻人须登记移交对象（家属、派出所等）",
                      "A lost person needs whom they were handed over to")
    if body.service_point_id is not None and session.get(ServicePoint, body.service_point_id) is None:
        raise Invalid("no-such-point", "服务点位不存在", "No such service point")
    grid = None  # a longitude without a latitude (or none at all) is no place
    if body.lon is not None and body.lat is not None:
        grid = getattr(locate(body.lon, body.lat), "grid_code", None)
    row = ConvenienceRecord(**body.model_dump(exclude={"at"}), at=at, grid_code=grid, recorded_by=actor.id,
                            recorded_by_name=actor.display_name, created_at=now)
    session.add(row)
    session.commit()
    return row


def claim(session: Session, record_id: int, body: ClaimIn, now: datetime) -> ConvenienceRecord:
    """The owner collected a found item."""
    row = session.get(ConvenienceRecord, record_id)
    if row is None:
        raise NotFound("no-such-record", "便民服务记录不存在", "No such record")
    if row.kind != "lost_found":
        raise Conflict("not-lost-found", "只有失物招领记录可以认领", "Only lost-and-found records can be claimed")
    if row.claimed_at is not None:
        raise Conflict("already-claimed", "物品已被认领", "Already claimed")
    row.claimed_at, row.claimed_by = now, body.claimed_by
    session.commit()
    return row


def month_bounds(month: str, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """'2026-11' → [first instant, first instant of the next month) in the local time zone."""
    try:
        year, mon = (int(x) for x in month.split("-"))
        start = date(year, mon, 1)
    except ValueError as exc:
        raise Invalid("bad-month", "月份格式应为 YYYY-MM", "A month looks like YYYY-MM") from exc
    end = date(year + mon // 12, mon % 12 + 1, 1)
    return datetime.combine(start, datetime.min.time(), tz), datetime.combine(end, datetime.min.time(), tz)


def month_stats(session: Session, month: str, tz: ZoneInfo) -> dict[str, Any]:
    """The month's services: records and people served per kind, thanks letters and banners, items still unclaimed."""
    start, end = month_bounds(month, tz)
    rows = session.execute(
        select(ConvenienceRecord.kind, func.count(), func.coalesce(func.sum(ConvenienceRecord.people), 0),
               func.coalesce(func.sum(ConvenienceRecord.thanks_letters), 0),
               func.coalesce(func.sum(ConvenienceRecord.banners), 0))
        .where(ConvenienceRecord.at >= start, ConvenienceRecord.at < end).group_by(ConvenienceRecord.kind)).all()
    unclaimed = session.scalar(select(func.count()).select_from(ConvenienceRecord).where(
        ConvenienceRecord.kind == "lost_found", ConvenienceRecord.claimed_at.is_(None),
        ConvenienceRecord.at < end)) or 0
    kinds = {k: {"name": SERVICE_KINDS[k][0], "name_en": SERVICE_KINDS[k][1], "records": 0, "people": 0}
             for k in SERVICE_KINDS}
    for kind, count, people, _, _ in rows:
        if kind in kinds:
            kinds[kind].update(records=int(count), people=int(people))
    return {"month": month, "records": sum(int(r[1]) for r in rows), "people": sum(int(r[2]) for r in rows),
            "thanks_letters": sum(int(r[3]) for r in rows), "banners": sum(int(r[4]) for r in rows),
            "unclaimed_items": int(unclaimed), "by_kind": kinds}


def listing(session: Session, kind: str | None, month: str | None, tz: ZoneInfo, limit: int,
            offset: int) -> list[ConvenienceRecord]:
    """Records, newest first."""
    stmt = select(ConvenienceRecord).order_by(ConvenienceRecord.at.desc(), ConvenienceRecord.id.desc())
    if kind:
        stmt = stmt.where(ConvenienceRecord.kind == kind)
    if month:
        start, end = month_bounds(month, tz)
        stmt = stmt.where(ConvenienceRecord.at >= start, ConvenienceRecord.at < end)
    return list(session.scalars(stmt.limit(limit).offset(offset)))
