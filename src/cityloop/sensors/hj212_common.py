"""What the HJ 212 listener and its connections share: the stations directory, a connection's peer record, the
replies a chunk's frames get, and the limits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.sensors import hj212
from cityloop.sensors.models import Device

MAX_PER_FLUSH = 2_000  # frames per batch: bounds a batch's time, hence the answers' delay
RELOAD_SECONDS = 60.0  # registry changes (removed stations, new passwords) are seen within this time …
LOOKUP_AGAIN_SECONDS = 1.0  # … while an unknown MN or a wrong password is looked up in the database at once, at
LOOKUPS_PER_SECOND = 50  # most once a second per MN and this often in all (so random MNs cannot flood the database)
READ_BYTES = 65_536


class Station(NamedTuple):
    """A registered HJ 212 station."""

    device_id: int
    code: str
    password: str


def load_stations(session: Session) -> dict[str, Station]:
    """Registered HJ 212 stations by MN."""
    rows = session.execute(select(Device.hj212_mn, Device.id, Device.code, Device.hj212_password)
                           .where(Device.hj212_mn.is_not(None)))
    return {mn: Station(device_id, code, password or "") for mn, device_id, code, password in rows if mn is not None}


def find_station(session: Session, mn: str) -> Station | None:
    """One registered HJ 212 station by MN (a station registered a moment ago, maybe by another process)."""
    row = session.execute(select(Device.id, Device.code, Device.hj212_password).where(Device.hj212_mn == mn)).first()
    return None if row is None else Station(row[0], row[1], row[2] or "")


def station_counter(device_id: int, reason: str) -> str:
    """The name of a station's own counter of a refusal reason (sensor_counters)."""
    return f"hj212:{device_id}:{reason}"


class Pending(NamedTuple):
    """A frame whose station must be looked up (unknown MN or wrong password) before it is judged."""

    packet: hj212.Packet
    frame: bytes


Reply = hj212.Packet | Pending | bytes | None  # a data frame answered once stored, a lookup, an answer, none


@dataclass
class Peer:
    """One connection, for the stations view."""

    address: str
    since: float
    mn: str | None = None
    frames: int = 0
    errors: int = 0
    last_at: float = 0.0

