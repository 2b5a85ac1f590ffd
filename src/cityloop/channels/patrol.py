"""巡查轨迹: inspectors' position pings, and per day the track, the grid coverage and the 漏报 count (problems in
the inspector's duty grids that other channels found)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from cityloop.cases.api import duty_grids_of, Case
from cityloop.channels.domain import track_length_m
from cityloop.channels.models import PositionPing
from cityloop.channels.schemas import PatrolOut, PingsIn
from cityloop.channels.service import Locate
from cityloop.geo.coords import to_wgs84
from cityloop.geo.models import UnitGrid
from cityloop.org.models import User
from cityloop.shared.errors import Invalid, NotFound

# Pings from further in the future than this are a wrong phone clock, not a position.
MAX_CLOCK_SKEW = timedelta(minutes=10)
MAX_AGE = timedelta(days=7)
OTHER_SOURCES = ("public", "hotline", "video", "open311", "sensor")


def store(session: Session, user_id: int, body: PingsIn, locate: Locate, now: datetime) -> int:
    """Keep a batch of pings (the app sends them queued while offline); each is placed in its unit grid."""
    rows = []
    for p in body.pings:
        if p.at > now + MAX_CLOCK_SKEW or p.at < now - MAX_AGE:
            raise Invalid("bad-ping-time", "定位时间超出允许范围（最近 7 天内）", "Ping time must be within the last 7 days")
        lon, lat = to_wgs84(p.lon, p.lat, body.coord_sys)
        place = locate(lon, lat)
        rows.append(dict(user_id=user_id, lon=lon, lat=lat, accuracy_m=p.accuracy_m, at=p.at, received_at=now,
                         grid_code=place.grid_code if place else None))
    session.execute(insert(PositionPing), rows)
    session.commit()
    return len(rows)


def summary(session: Session, username: str, day: date, tz: str) -> PatrolOut:
    """One inspector's day: track, coverage of the unit grids of their duty grids, what they reported, what others
    found in their grids (漏报)."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound("user-not-found", f"用户 {username} 不存在", f"User {username} not found")
    zone = ZoneInfo(tz)
    start = datetime.combine(day, time(0), zone)
    end = start + timedelta(days=1)
    pings = list(session.execute(select(PositionPing.lon, PositionPing.lat, PositionPing.at, PositionPing.grid_code)
                                 .where(PositionPing.user_id == user.id, PositionPing.at >= start,
                                        PositionPing.at < end).order_by(PositionPing.at)))
    duty = duty_grids_of(session, user.id)
    grids = set(session.scalars(select(UnitGrid.code).where(UnitGrid.duty_grid_code.in_(duty)))) if duty else set()
    visited = {g for *_, g in pings if g in grids}
    in_day = (Case.created_at >= start, Case.created_at < end)
    reported = session.scalar(select(func.count(Case.id)).where(Case.reporter_id == user.id, *in_day)) or 0
    missed = session.scalar(select(func.count(Case.id)).where(
        Case.duty_grid_code.in_(duty), Case.source.in_(OTHER_SOURCES), *in_day)) if duty else 0
    track = [[round(lon, 6), round(lat, 6)] for lon, lat, *_ in pings]
    return PatrolOut(username=username, day=day.isoformat(), pings=len(pings),
                     track_km=round(track_length_m([(p[0], p[1]) for p in track]) / 1000, 3),
                     first_at=pings[0][2] if pings else None, last_at=pings[-1][2] if pings else None,
                     grids_total=len(grids), grids_visited=len(visited),
                     coverage=round(len(visited) / len(grids), 4) if grids else 0.0,
                     reported=reported, missed=missed or 0, track=track)
