"""GET /map/tiles/{z}/{x}/{y}.pbf (the local base map) and GET /map/config.js (what every page's map helper
needs: the base source, the deployment's bounds, the tile CRS)."""

from __future__ import annotations

import json
import time

import shapely
from fastapi import APIRouter
from fastapi.responses import Response
from sqlalchemy import select
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from cityloop.basemap import domain, http
from cityloop.deps import StateDep
from cityloop.state import AppState
from cityloop.shared.errors import Invalid, NotFound

router = APIRouter(tags=["base map"])
BOUNDS_TTL = 300.0

Place = tuple[list[float] | None, list[float] | None]  # the district's bounds and the urban centre


class _TileEndpoint:
    """GET /map/tiles/{z}/{x}/{y}.{ext} when http.TileFastPath did not answer it (or the app runs without it):
    the tile, or the error that says why there is none. A raw ASGI endpoint: no request object, no session."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        params = scope["path_params"]
        z, x, name = params["z"], params["x"], params["name"]
        if await http.answer(scope, send, z, x, name):
            return
        if not (z.isascii() and z.isdigit() and x.isascii() and x.isdigit()):
            raise Invalid("tile_invalid", "瓦片坐标必须是整数", "tile coordinates must be whole numbers")
        raise NotFound("tile_not_found", "没有这个瓦片", "no such tile")


router.routes.append(Route("/map/tiles/{z}/{x}/{name}", _TileEndpoint(), methods=["GET", "HEAD"],
                           include_in_schema=False))


def _place(state: AppState) -> Place:
    """The district's bounding box and the urban centre (the unit grids' middle), from the database, cached a few
    minutes; without regions, the tile file's bounds and centre."""
    cached = state.basemap_place
    if cached is not None and time.monotonic() - cached[0] < BOUNDS_TTL:
        place: Place = cached[1]
        return place
    from cityloop.geo.models import Region, UnitGrid

    bounds: list[float] | None = None
    center: list[float] | None = None
    with state.read_session_factory() as session:
        shapes = [shapely.from_geojson(g) for g in session.scalars(
            select(Region.geometry).where(Region.level == "district", Region.geometry.is_not(None)))]
        grids = [shapely.from_geojson(g) for g in session.scalars(select(UnitGrid.geometry))]
    if shapes:
        bounds = [round(float(v), 6) for v in shapely.total_bounds(shapes)]
    meta = http.store(state).metadata
    if bounds is None and "bounds" in meta:
        bounds = [float(v) for v in meta["bounds"].split(",")]
    box = shapely.total_bounds(grids) if grids else bounds
    if box is not None:  # bounds, when there, are never empty
        w, s, e, n = box
        center = [round((float(w) + float(e)) / 2, 6), round((float(s) + float(n)) / 2, 6)]
    state.basemap_place = (time.monotonic(), (bounds, center))
    return bounds, center


@router.get("/map/config.js", include_in_schema=False)
def config(state: StateDep) -> Response:
    """window.CITYLOOP_MAP for static/js/map.js (a script from this origin: the CSP allows no inline script)."""
    settings = state.settings
    tiles = http.store(state)
    source = domain.base_source(tiles.available(), settings.map_tile_url)
    fmt = tiles.metadata.get("format", "pbf") if source == "local" else None
    body: dict[str, str | int | list[float] | None] = {
        "source": source,
        "tiles": f"/map/tiles/{{z}}/{{x}}/{{y}}.{fmt}" if fmt else None,
        "format": fmt,
        "maxDataZoom": int(tiles.metadata.get("maxzoom", 16)) if source == "local" else None,
        "url": settings.map_tile_url if source == "url" else None,
        "attribution": (tiles.metadata.get("attribution", "") if source == "local"
                        else settings.map_tile_attribution),
        "crs": "wgs84" if source == "local" else settings.map_tile_crs,
    }
    body["bounds"], body["center"] = _place(state)
    text = "window.CITYLOOP_MAP = " + json.dumps(body, ensure_ascii=False).replace("<", "\\u003c") + ";\n"
    return Response(text, media_type="text/javascript; charset=utf-8", headers={"Cache-Control": "no-cache"})
