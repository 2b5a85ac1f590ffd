"""Loading the stored places into a PlaceIndex, and keeping one index per database up to date: a cheap
fingerprint (counts, largest ids, sums of coordinates) of the place tables is compared on every look-up, so rows
added by an import, the demo, the old gazetteer loader or another worker are seen. A small index is rebuilt in the
request that notices the change; a large one (100,000 places take ~16 s) in a background thread, and requests keep
using the previous index until the new one is swapped in."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from weakref import WeakKeyDictionary

import shapely
from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.orm import Session

from cityloop.channels.models import GazetteerEntry
from cityloop.geo.models import Region
from cityloop.places.index import Entry, Fingerprint, PlaceIndex, Plate, Road
from cityloop.places.models import PlaceAddress, PlaceRoad

# Up to this many stored places a rebuild is quick (well under a second) and done in the request, so it is exact
# at once; above it the rebuild runs in the background.
SYNC_BUILD_MAX = 20_000


@dataclass(eq=False)
class _Slot:
    """The index of one database (engine or connection) and its rebuild state."""

    index: PlaceIndex | None = None
    checked: float = 0.0  # time.monotonic() of the last fingerprint check
    building: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)  # held while building


_lock = threading.Lock()
_slots: WeakKeyDictionary[Engine | Connection, _Slot] = WeakKeyDictionary()  # bind → _Slot; a closed test connection takes its index along


def fingerprint(session: Session) -> Fingerprint:
    """Changes whenever a place row is added, removed or moved."""
    parts = []
    for model, a, b in ((GazetteerEntry, GazetteerEntry.lon, func.length(GazetteerEntry.name)),
                        (PlaceRoad, func.length(PlaceRoad.geometry), func.length(PlaceRoad.name)),
                        (PlaceAddress, PlaceAddress.lon + PlaceAddress.lat, PlaceAddress.number),
                        (Region, func.length(Region.geometry), func.length(Region.name))):
        for agg in (func.count(), func.max(model.__mapper__.primary_key[0]), func.coalesce(func.sum(a), 0),
                    func.coalesce(func.sum(b), 0)):
            parts.append(select(agg).select_from(model).scalar_subquery())
    row = session.execute(select(*parts)).one()
    return tuple(float(v) if v is not None and not isinstance(v, str) else v for v in row)


def build(session: Session, fp: Fingerprint = ()) -> PlaceIndex:
    """A fresh index of every stored place."""
    entries = [Entry(kind=g.kind, name=g.name, lon=g.lon, lat=g.lat,
                     aliases=tuple(a.strip() for a in (g.alias or "").split(",") if a.strip()),
                     address=g.address, gid=g.id)
               for g in session.scalars(select(GazetteerEntry).order_by(GazetteerEntry.id))]
    roads = [Road(r.name, r.town, shapely.from_geojson(r.geometry), (r.left_from, r.left_to, r.right_from, r.right_to))
             for r in session.scalars(select(PlaceRoad).order_by(PlaceRoad.id))]
    plates = [Plate(p.road, p.number, p.town, p.lon, p.lat)
              for p in session.scalars(select(PlaceAddress).order_by(PlaceAddress.id))]
    regions = [(level, name, shapely.from_geojson(geom) if geom else None)
               for level, name, geom in session.execute(select(Region.level, Region.name, Region.geometry)
                                                        .where(Region.level.in_(("street", "community"))))]
    return PlaceIndex(entries, roads, plates, regions, fingerprint=fp)


def _slot(bind: Engine | Connection) -> _Slot:
    with _lock:
        slot = _slots.get(bind)
        if slot is None:
            slot = _slots[bind] = _Slot()
        return slot


def _size(fp: Fingerprint) -> int:
    """How many places a fingerprint counts (its first column of each table)."""
    return int(sum(count for count in fp[::4] if isinstance(count, float)))


def _rebuild(slot: _Slot, bind: Engine | Connection, fp: Fingerprint) -> None:
    """Build in this (background) thread and swap the new index in; lookups meanwhile use the old one."""
    try:
        with slot.lock, Session(bind=bind) as session:
            index = build(session, fp)
            slot.index, slot.checked = index, time.monotonic()  # one reference assignment: atomic
    finally:
        slot.building = False


def index_for(session: Session) -> PlaceIndex:
    """The index of this session's database; a change of the stored places is rebuilt (see the module doc)."""
    fp = fingerprint(session)
    bind = session.get_bind()
    slot = _slot(bind)
    index = slot.index
    if index is not None and index.fingerprint == fp:
        slot.checked = time.monotonic()
        return index
    if index is not None and _size(fp) > SYNC_BUILD_MAX:
        with _lock:
            start, slot.building = not slot.building, True
        if start:
            threading.Thread(target=_rebuild, args=(slot, bind, fp), name="places-index", daemon=True).start()
        return index
    with slot.lock:  # none yet, or small: build here (waiting for a background build already under way)
        if slot.index is None or slot.index.fingerprint != fp:
            slot.index = build(session, fp)
        slot.checked = time.monotonic()
        return slot.index


def cached(session: Session, max_age: float) -> PlaceIndex:
    """The index, checked against the database at most every `max_age` seconds: the cheap path for case intake."""
    slot = _slots.get(session.get_bind())
    if slot is not None and slot.index is not None and time.monotonic() - slot.checked < max_age:
        return slot.index
    return index_for(session)
