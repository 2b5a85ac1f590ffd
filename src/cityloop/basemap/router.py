"""GET /map/tiles/{z}/{x}/{y}.pbf (the local base map) and GET /map/config.js (what every page's map helper
needs: the base source, the deployment's bounds, the tile CRS)."""

from __future__ import annotations

import json
import time

import shapely
from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select

from cityloop.basemap import domain
from cityloop.basemap.mbtiles import FORMATS, GZIP, TileStore
from cityloop.shared.errors import NotFound

router = APIRouter(tags=["base map"])
TILE_CACHE = "public, max-age=3600"
BOUNDS_TTL = 300.0


def store(request: Request) -> TileStore:
    """The app's open handle on the local tile file."""
    state = request.app.state
    current = getattr(state, "basemap_store", None)
    path = state.settings.map_tiles_path
    if current is None or current.path != path:
        current = state.basemap_store = TileStore(path)
    return current


def _missing() -> NotFound:
    return NotFound("tile_not_found", "没有这个瓦片", "no such tile")


@router.get("/map/tiles/{z}/{x}/{name}", include_in_schema=False)
async def tile(z: int, x: int, name: str, request: Request) -> Response:
    """One tile of the local base map: 204 where the map has nothing, 404 for a tile that cannot exist."""
    parsed = domain.parse_tile(z, x, name)
    tiles = store(request)
    if parsed is None:
        raise _missing()
    data = tiles.tile(parsed[0], parsed[1], parsed[2])
    fmt = tiles.metadata.get("format", "pbf")
    if not tiles.metadata or parsed[3] != fmt and not (fmt == "jpeg" and parsed[3] == "jpg"):
        raise _missing()
    if data is None:
        return Response(status_code=204, headers={"Cache-Control": TILE_CACHE})
    headers = {"Cache-Control": TILE_CACHE}
    if fmt == "pbf" and data[:2] == GZIP:
        headers["Content-Encoding"] = "gzip"
    return Response(data, media_type=FORMATS[fmt], headers=headers)


def _place(request: Request) -> tuple[list[float] | None, list[float] | None]:
    """The district's bounding box and the urban centre (the unit grids' middle), from the database, cached a few
    minutes; without regions, the tile file's bounds and centre."""
    state = request.app.state
    cached = getattr(state, "basemap_place", None)
    if cached is not None and time.monotonic() - cached[0] < BOUNDS_TTL:
        return cached[1]
    from cityloop.geo.models import Region, UnitGrid

    bounds = center = None
    with state.read_session_factory() as session:
        shapes = [shapely.from_geojson(g) for g in session.scalars(
            select(Region.geometry).where(Region.level == "district", Region.geometry.is_not(None)))]
        grids = [shapely.from_geojson(g) for g in session.scalars(select(UnitGrid.geometry))]
    if shapes:
        bounds = [round(float(v), 6) for v in shapely.total_bounds(shapes)]
    meta = store(request).metadata if store(request).available() else {}
    if bounds is None and "bounds" in meta:
        bounds = [float(v) for v in meta["bounds"].split(",")]
    if grids or bounds:
        w, s, e, n = shapely.total_bounds(grids) if grids else bounds
        center = [round((float(w) + float(e)) / 2, 6), round((float(s) + float(n)) / 2, 6)]
    state.basemap_place = (time.monotonic(), (bounds, center))
    return bounds, center


@router.get("/map/config.js", include_in_schema=False)
def config(request: Request) -> Response:
    """window.CITYLOOP_MAP for static/js/map.js (a script from this origin: the CSP allows no inline script)."""
    settings = request.app.state.settings
    tiles = store(request)
    source = domain.base_source(tiles.available(), settings.map_tile_url)
    fmt = tiles.metadata.get("format", "pbf") if source == "local" else None
    body = {
        "source": source,
        "tiles": f"/map/tiles/{{z}}/{{x}}/{{y}}.{fmt}" if fmt else None,
        "format": fmt,
        "maxDataZoom": int(tiles.metadata.get("maxzoom", 16)) if source == "local" else None,
        "url": settings.map_tile_url if source == "url" else None,
        "attribution": (tiles.metadata.get("attribution", "") if source == "local"
                        else settings.map_tile_attribution),
        "crs": "wgs84" if source == "local" else settings.map_tile_crs,
    }
    body["bounds"], body["center"] = _place(request)
    text = "window.CITYLOOP_MAP = " + json.dumps(body, ensure_ascii=False).replace("<", "\\u003c") + ";\n"
    return Response(text, media_type="text/javascript; charset=utf-8", headers={"Cache-Control": "no-cache"})
