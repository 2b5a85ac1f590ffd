"""The demo base map of 来安县 from the data the demo database holds: the real county boundary, towns and
communities (boundaries and labels), built-up area (the urban unit grids of the county seat), the named roads of
the geocoder and of the muck-truck geography, and a SCHEMATIC river (no open water data is published for the
county; see demo/data/SOURCES.md)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
from pathlib import Path

import shapely
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.basemap.tiles import Feature, write
from cityloop.geo.models import Region, UnitGrid

# SCHEMATIC: a river (来河) across the county seat from north-west to south-east, ~40 m wide in town.
RIVER = ("来河", [(118.330, 32.505), (118.372, 32.478), (118.402, 32.458), (118.426, 32.447), (118.447, 32.446),
                  (118.470, 32.440), (118.505, 32.425), (118.560, 32.398), (118.640, 32.372)])
RIVER_WIDTH_DEG = 0.0004
DEMO_NAME = "来安县 base map (CityLoop demo)"


def _geom(text: str | None) -> shapely.Geometry | None:
    if not text:
        return None
    return shapely.from_geojson(text if isinstance(text, str) else json.dumps(text))


def features(session: Session) -> list[Feature]:
    """The base-map features (WGS84) of the deployment in this database."""
    from cityloop.places.models import PlaceRoad

    out: list[Feature] = []
    regions = session.scalars(select(Region)).all()
    for r in regions:
        geom = _geom(r.geometry)
        if geom is None or geom.is_empty:
            continue
        if r.level == "district":
            out.append(Feature("boundary", shapely.boundary(geom), {"kind": "district", "name": r.name}, 0))
            out.append(Feature("places", geom.representative_point(), {"kind": "district", "name": r.name}, 0))
        elif r.level == "street":
            out.append(Feature("boundary", shapely.boundary(geom), {"kind": "town", "name": r.name}, 9))
            out.append(Feature("places", geom.representative_point(), {"kind": "town", "name": r.name}, 9))
        else:
            out.append(Feature("boundary", shapely.boundary(geom), {"kind": "community", "name": r.name}, 13))
            out.append(Feature("places", geom.representative_point(), {"kind": "community", "name": r.name}, 13))
    grids = [shapely.from_geojson(g) for g in session.scalars(select(UnitGrid.geometry))]
    if grids:
        out.append(Feature("builtup", shapely.union_all(grids).buffer(0.0003).buffer(-0.0003), {"kind": "urban"}, 0))
    for name, text in session.execute(select(PlaceRoad.name, PlaceRoad.geometry)):
        out.append(Feature("roads", _geom(text), {"kind": "street", "name": name}, 12))
    out.extend(_fleet_roads())
    name, coords = RIVER
    line = shapely.LineString(coords)
    out.append(Feature("water", line.buffer(RIVER_WIDTH_DEG / 2), {"kind": "river", "name": name}, 0))
    out.append(Feature("water_names", line, {"kind": "river", "name": name}, 12))
    return out


def _fleet_roads() -> list[Feature]:
    try:
        from cityloop.fleet.roads import NODES, ROADS
    except ImportError:  # a deployment without the fleet area
        return []
    out = []
    for road in ROADS:
        name, junctions = road[0], road[-1]
        kind = "highway" if name[:1] in "GS" and name[1:2].isdigit() else "major"
        out.append(Feature("roads", shapely.LineString([NODES[j] for j in junctions]), {"kind": kind, "name": name},
                           8 if kind == "highway" else 10))
    return out


def detail_bounds(session: Session) -> tuple[float, float, float, float] | None:
    """Where the streets are (the urban grids, with a margin): the only place tiles beyond z13 are cut."""
    grids = [shapely.from_geojson(g) for g in session.scalars(select(UnitGrid.geometry))]
    if not grids:
        return None
    w, s, e, n = shapely.total_bounds(grids)
    return w - 0.01, s - 0.01, e + 0.01, n + 0.01


def is_demo_map(path: Path) -> bool:
    """Whether the tile file at `path` is one this module built."""
    from cityloop.basemap.files import validate
    from cityloop.basemap.mbtiles import TileFileError

    try:
        return validate(path, sample=0).get("name") == DEMO_NAME
    except TileFileError:
        return True  # a broken file may be rebuilt


def build(session: Session, path: Path, maxzoom: int = 16) -> int:
    """Write the deployment's base map to `path` (MBTiles); returns the number of tiles. The same features, options
    and code give the same tiles: a copy kept in `path`'s folder under cache/ is reused (a demo rebuild)."""
    feats, detail = features(session), detail_bounds(session)
    key = _key(feats, maxzoom, detail)
    cached = path.parent / "cache" / f"basemap-{key}.mbtiles"
    if cached.is_file():
        shutil.copyfile(cached, path.with_name(path.name + ".cached"))
        os.replace(path.with_name(path.name + ".cached"), path)
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            count: int = db.execute("SELECT count(*) FROM tiles").fetchone()[0]
            return count
    count = write(path, feats, name=DEMO_NAME, maxzoom=maxzoom, detail=detail,
                  attribution="CityLoop 演示底图（示意）")
    cached.parent.mkdir(exist_ok=True)
    for old in cached.parent.glob("basemap-*.mbtiles"):  # keep one: the latest
        old.unlink(missing_ok=True)
    shutil.copyfile(path, cached.with_suffix(".part"))
    os.replace(cached.with_suffix(".part"), cached)
    return count


def _key(feats: list[Feature], maxzoom: int, detail: tuple[float, float, float, float] | None) -> str:
    """A digest of everything the tiles depend on: the features, the options and the code that cuts them."""
    from cityloop.basemap import tiles

    h = hashlib.sha256(f"{maxzoom}|{detail}|{DEMO_NAME}".encode())
    h.update(Path(tiles.__file__).read_bytes())
    for f in feats:
        h.update(f"{f.layer}|{f.minzoom}|{json.dumps(f.properties, sort_keys=True, ensure_ascii=False)}|".encode())
        h.update(shapely.to_wkb(f.geometry))
    return h.hexdigest()[:24]
