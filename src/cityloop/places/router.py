"""Geocoding (`/api/v1/geo/geocode`) and reverse geocoding (`/api/v1/geo/reverse`) for everyone: the hotline form,
the citizens' report page, Open311 clients."""

from __future__ import annotations

from typing import cast

from fastapi import APIRouter, Query

from cityloop.deps import GridIndexDep, SessionDep, SettingsDep
from cityloop.places import service
from cityloop.places.schemas import GeocodeOut, Kind, ReverseOut
from cityloop.shared.errors import NotFound

router = APIRouter(prefix="/api/v1/geo", tags=["geo 网格与定位"])


@router.get("/geocode", response_model=list[GeocodeOut])
def geocode(session: SessionDep, settings: SettingsDep, index: GridIndexDep,
            q: str = Query(..., description="地址、路口、地名 / what the caller said"),
            limit: int = Query(10, ge=1, le=50)) -> list[GeocodeOut]:
    """地名定位 / Ranked candidates (door plates, crossings, roads, POIs, communities, towns) for a spoken address."""
    query = service.check_query(q, settings.geocode_max_query)
    out = []
    for c in service.geocode(session, query, limit):
        place = index.locate(c.lon, c.lat)
        # the index's kinds are these (from the gazetteer's and its own); the model checks them
        out.append(GeocodeOut(id=c.id, name=c.name, kind=cast(Kind, c.kind), address=c.address, lon=c.lon, lat=c.lat,
                              score=c.score, approximate=c.approximate, grid_code=place.grid_code if place else None))
    return out


@router.get("/reverse", response_model=ReverseOut)
def reverse(session: SessionDep, index: GridIndexDep, lon: float = Query(..., ge=-180, le=180),
            lat: float = Query(..., ge=-90, le=90)) -> ReverseOut:
    """逆地理编码 / The door plate, road (with an interpolated number) or POI nearest a pin: "永阳路 88号附近"."""
    found = service.reverse(session, lon, lat)
    if found is None:
        raise NotFound("no-place-nearby", "附近没有已知的地名", "No known place near this point")
    place = index.locate(found["lon"], found["lat"])
    return ReverseOut(**found, grid_code=place.grid_code if place else None)
