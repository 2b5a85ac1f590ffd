"""Geocoding (`/api/v1/geo/geocode`) and reverse geocoding (`/api/v1/geo/reverse`) for everyone: the hotline form,
the citizens' report page, Open311 clients."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.orm import Session

from cityloop.state import app_state
from cityloop.deps import get_grid_index, get_session
from cityloop.places import service
from cityloop.places.schemas import GeocodeOut, ReverseOut
from cityloop.shared.errors import NotFound

router = APIRouter(prefix="/api/v1/geo", tags=["geo 网格与定位"])


@router.get("/geocode", response_model=list[GeocodeOut])
def geocode(request: Request, q: str = Query(..., description="地址、路口、地名 / what the caller said"),
            limit: int = Query(10, ge=1, le=50), session: Session = Depends(get_session)):
    """地名定位 / Ranked candidates (door plates, crossings, roads, POIs, communities, towns) for a spoken address."""
    query = service.check_query(q, app_state(request.app).settings.geocode_max_query)
    index = get_grid_index(request)
    out = []
    for c in service.geocode(session, query, limit):
        place = index.locate(c.lon, c.lat)
        out.append(GeocodeOut(id=c.id, name=c.name, kind=c.kind, address=c.address, lon=c.lon, lat=c.lat,
                              score=c.score, approximate=c.approximate, grid_code=place.grid_code if place else None))
    return out


@router.get("/reverse", response_model=ReverseOut)
def reverse(request: Request, lon: float = Query(..., ge=-180, le=180), lat: float = Query(..., ge=-90, le=90),
            session: Session = Depends(get_session)):
    """逆地理编码 / The door plate, road (with an interpolated number) or POI nearest a pin: "永阳路 88号附近"."""
    found = service.reverse(session, lon, lat)
    if found is None:
        raise NotFound("no-place-nearby", "附近没有已知的地名", "No known place near this point")
    place = get_grid_index(request).locate(found["lon"], found["lat"])
    return ReverseOut(**found, grid_code=place.grid_code if place else None)
