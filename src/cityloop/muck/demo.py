"""Demo roadside checks (上路抽查) of the demo trucks: most pass, a few fail and become violations."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.config import Settings
from cityloop.org.actor import Actor
from cityloop.fleet.models import Vehicle
from cityloop.muck.models import SpotCheck
from cityloop.muck.schemas import SpotCheckIn
from cityloop.muck.service import record_check

PLACES = [("建阳路与永阳路交叉口", 0.0, 0.0), ("滁来路收费站", 0.01, -0.004), ("工业园区纬三路", -0.008, 0.006)]
FAILS = [{"sealed": False}, {"appearance": False}, {"papers": False, "overload": False}]


def build(session: Session, settings: Settings, now: datetime) -> None:
    """About a dozen checks over the last days (runs after the fleet's demo, which adds the trucks)."""
    if session.scalar(select(SpotCheck.id).limit(1)) is not None:
        return
    trucks = session.execute(select(Vehicle.plate, Vehicle.last_lon, Vehicle.last_lat).order_by(Vehicle.id)
                             .limit(12)).all()
    officer = Actor(id=None, username="system", display_name="执法大队二中队", roles=frozenset({"department"}))
    for k, (plate, lon, lat) in enumerate(trucks):
        place, dx, dy = PLACES[k % len(PLACES)]
        items = {"sealed": True, "appearance": True, "overload": True, "papers": True}
        if k % 4 == 3:
            items |= FAILS[(k // 4) % len(FAILS)]
        body = SpotCheckIn(plate=plate, checked_at=now - timedelta(days=k % 5, hours=k), lon=(lon or 118.43) + dx,
                           lat=(lat or 32.45) + dy, address=place, items=items)
        record_check(session, settings, body, officer, now)
