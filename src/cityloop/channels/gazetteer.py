"""The gazetteer behind geocoding: named roads, POIs, communities and towns as points; ranked look-ups; loaders for a
CSV file and for the region table."""

from __future__ import annotations

import csv
import io

import shapely
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from cityloop.channels.models import GazetteerEntry
from cityloop.geo.coords import COORD_SYSTEMS, to_wgs84
from cityloop.geo.models import Region
from cityloop.shared.errors import Invalid

CSV_COLUMNS = ("name", "kind", "lon", "lat")  # required; optional: alias, address, coord_sys
KINDS = ("road", "poi", "community", "town")


def best_point(session: Session, query: str) -> tuple[float, float, str] | None:
    """The best geocoding answer's point and name (door plates, crossings, roads, POIs…), or None."""
    from cityloop.places.service import best_point as best

    found = best(session, query)
    return (found.lon, found.lat, found.name) if found else None


def load_csv(session: Session, text: str, source: str, replace: bool = True) -> int:
    """Load a gazetteer CSV (name, kind, lon, lat[, alias, address, coord_sys]); with replace, entries from the same
    source are replaced. Not committed. A bad row is a 422 naming its line; nothing is loaded then."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise Invalid("gazetteer-columns", f"缺少列：{', '.join(missing)}", f"Missing columns: {', '.join(missing)}")
    rows = []
    for line, rec in enumerate(reader, start=2):
        try:
            kind, coord_sys = rec["kind"].strip(), (rec.get("coord_sys") or "wgs84").strip()
            if kind not in KINDS or coord_sys not in COORD_SYSTEMS or not rec["name"].strip():
                raise ValueError(kind)
            lon, lat = to_wgs84(float(rec["lon"]), float(rec["lat"]), coord_sys)
        except (ValueError, TypeError, AttributeError) as exc:
            raise Invalid("gazetteer-row", f"第 {line} 行无效", f"Line {line} is invalid", line=line) from exc
        rows.append(GazetteerEntry(name=rec["name"].strip()[:100], kind=kind, alias=(rec.get("alias") or None),
                                   address=(rec.get("address") or None), lon=lon, lat=lat, source=source[:32]))
    if replace:
        session.execute(delete(GazetteerEntry).where(GazetteerEntry.source == source[:32]))
    session.add_all(rows)
    return len(rows)


def load_regions(session: Session) -> int:
    """Communities and towns with a boundary become gazetteer entries at a point inside them. Not committed."""
    session.execute(delete(GazetteerEntry).where(GazetteerEntry.source == "regions"))
    count = 0
    parents: dict[str, str] = dict(session.execute(select(Region.code, Region.name)).tuples().all())
    for region in session.scalars(select(Region).where(Region.level.in_(("street", "community")),
                                                       Region.geometry.is_not(None))):
        point = shapely.from_geojson(region.geometry).representative_point()
        kind = "town" if region.level == "street" else "community"
        session.add(GazetteerEntry(name=region.name, kind=kind, alias=None, address=parents.get(region.parent_code) if region.parent_code is not None else None,
                                   lon=round(point.x, 6), lat=round(point.y, 6), source="regions"))
        count += 1
    return count
