"""Loading the stored places into a PlaceIndex, and keeping one index per database up to date: a cheap
fingerprint (counts, largest ids, sums of coordinates) of the place tables is compared on every look-up, so rows
added by an import, the demo, the old gazetteer loader or another worker are seen at once."""

from __future__ import annotations

import threading

import shapely
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityloop.channels.models import GazetteerEntry
from cityloop.geo.models import Region
from cityloop.places.index import Entry, PlaceIndex, Plate, Road
from cityloop.places.models import PlaceAddress, PlaceRoad

_lock = threading.Lock()
_cache: dict[int, PlaceIndex] = {}


def fingerprint(session: Session) -> tuple:
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


def build(session: Session, fp: tuple = ()) -> PlaceIndex:
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


def index_for(session: Session) -> PlaceIndex:
    """The index of this session's database, rebuilt when the stored places changed."""
    fp = fingerprint(session)
    key = id(session.get_bind())
    index = _cache.get(key)
    if index is not None and index.fingerprint == fp:
        return index
    with _lock:
        index = _cache.get(key)
        if index is None or index.fingerprint != fp:
            index = build(session, fp)
            _cache[key] = index
    return index
