"""Build Mapbox vector tiles (MVT, gzip) from WGS84 features into an MBTiles file, offline.

A feature is (layer, shapely geometry in WGS84, properties, minzoom). Tiles are cut per zoom from an STR-tree of the
features projected to Web Mercator, simplified to the tile's resolution and clipped with a small buffer."""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mapbox_vector_tile
import mercantile
import numpy as np
import shapely

from cityloop.basemap.mbtiles import write_mbtiles

EXTENT = 4096
BUFFER = 64 / EXTENT  # of a tile's width: lines and labels crossing an edge are drawn in both tiles
R = 6378137.0


@dataclass
class Feature:
    layer: str
    geometry: shapely.Geometry  # WGS84 lon/lat
    properties: dict[str, Any] = field(default_factory=dict)
    minzoom: int = 0


def _mercator(geom: shapely.Geometry) -> shapely.Geometry:
    def project(xy: np.ndarray) -> np.ndarray:
        lon, lat = xy[:, 0], np.clip(xy[:, 1], -85.0511, 85.0511)
        return np.column_stack([np.radians(lon) * R, np.log(np.tan(np.pi / 4 + np.radians(lat) / 2)) * R])

    return shapely.transform(geom, project)


def _covering(bounds: tuple[float, float, float, float], z: int) -> list[mercantile.Tile]:
    w, s, e, n = bounds
    return list(mercantile.tiles(w, s, e, n, zooms=[z]))


def build_tiles(features: list[Feature], minzoom: int, maxzoom: int,
                detail: tuple[float, float, float, float] | None = None, detail_from: int = 14) -> dict[tuple[int, int, int], bytes]:
    """{(z, x, y): gzipped MVT bytes}: every zoom over all features' bounds, but from `detail_from` on only over the
    `detail` bounds (lon/lat), where the streets are: a whole county at z16 would be thousands of empty tiles."""
    merc = [_mercator(f.geometry) for f in features]
    tree = shapely.STRtree(merc)
    everything = shapely.total_bounds([f.geometry for f in features])
    shapes = np.array(merc, dtype=object)
    points = shapely.get_type_id(shapes) == 0
    minzooms = np.array([f.minzoom for f in features])
    out: dict[tuple[int, int, int], bytes] = {}
    for z in range(minzoom, maxzoom + 1):
        # simplified once per zoom (vectorised), not once per tile: the same shapes, clipped per tile below
        size = 2 * np.pi * R / (1 << z)
        todo = ~points & (minzooms <= z)
        simple = shapes.copy()
        simple[todo] = shapely.simplify(shapes[todo], size / EXTENT, preserve_topology=True)
        area = detail if (detail is not None and z >= detail_from) else tuple(everything)
        for tile in _covering(area, z):
            data = _tile(features, simple, tree, tile)
            if data is not None:
                out[(z, tile.x, tile.y)] = data
    return out


def _tile(features: list[Feature], simple: np.ndarray, tree: shapely.STRtree, tile: mercantile.Tile) -> bytes | None:
    b = mercantile.xy_bounds(tile)
    size = b.right - b.left
    pad = size * BUFFER
    box = (b.left - pad, b.bottom - pad, b.right + pad, b.top + pad)
    layers: dict[str, list[dict[str, Any]]] = {}
    for i in sorted(tree.query(shapely.box(*box))):
        f = features[i]
        if tile.z < f.minzoom:
            continue
        geom = simple[i]
        if geom.geom_type != "Point":
            geom = shapely.clip_by_rect(geom, *box)
            if geom.is_empty:
                continue
        elif not (b.left <= geom.x <= b.right and b.bottom <= geom.y <= b.top):
            continue  # a label belongs to exactly one tile
        layers.setdefault(f.layer, []).append({"geometry": geom, "properties": f.properties})
    if not layers:
        return None
    data = mapbox_vector_tile.encode(
        [{"name": name, "features": feats} for name, feats in layers.items()],
        default_options={"quantize_bounds": (b.left, b.bottom, b.right, b.top), "extents": EXTENT,
                         "y_coord_down": False})
    return gzip.compress(data, 6, mtime=0)


def write(path: Path, features: list[Feature], name: str, minzoom: int = 8, maxzoom: int = 16,
          detail: tuple[float, float, float, float] | None = None, attribution: str = "") -> int:
    """Build the tiles and write them as an MBTiles file at `path` (atomically); returns the number of tiles."""
    tiles = build_tiles(features, minzoom, maxzoom, detail)
    w, s, e, n = (float(v) for v in shapely.total_bounds([f.geometry for f in features]))
    layers = sorted({f.layer for f in features})
    metadata = {
        "name": name, "format": "pbf", "type": "baselayer", "version": "1", "minzoom": str(minzoom),
        "maxzoom": str(maxzoom), "bounds": f"{w:.6f},{s:.6f},{e:.6f},{n:.6f}",
        "center": f"{(w + e) / 2:.6f},{(s + n) / 2:.6f},{min(maxzoom, max(minzoom, 12))}",
        "attribution": attribution,
        "json": json.dumps({"vector_layers": [{"id": name_, "fields": {}} for name_ in layers]}),
    }
    write_mbtiles(path, metadata, tiles)
    return len(tiles)


def lonlat_bounds_of_tile(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """A tile's (west, south, east, north)."""
    b = mercantile.bounds(x, y, z)
    return b.west, b.south, b.east, b.north


def tile_for(lon: float, lat: float, z: int) -> tuple[int, int, int]:
    """The (z, x, y) tile holding a point."""
    t = mercantile.tile(lon, lat, z)
    return t.z, t.x, t.y


