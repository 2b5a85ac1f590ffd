"""Geography endpoints: locate a point (one or many), unit grids as GeoJSON, regions and duty grids."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from cityloop.audit import service as audit
from cityloop.deps import ActorDep, AdminDep, ClockDep, GridIndexDep, SessionDep
from cityloop.geo import queries, service
from cityloop.geo.coords import COORD_SYSTEMS, CoordSys, to_wgs84, to_wgs84_np
from cityloop.shared.errors import Invalid
from cityloop.shared.fields import Num

router = APIRouter(prefix="/api/v1/geo", tags=["geo 网格与定位"])
MAX_BATCH = 100_000
MAX_FEATURES = 20_000


class LocateOut(BaseModel):
    lon: float
    lat: float
    grid_code: str
    duty_grid_code: str | None
    duty_grid_name: str | None
    community_code: str
    community_name: str | None
    street_code: str
    street_name: str | None
    district_code: str
    district_name: str | None
    inspectors: list[str]


class BatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lon: list[Num] = Field(..., max_length=MAX_BATCH)
    lat: list[Num] = Field(..., max_length=MAX_BATCH)
    coord_sys: CoordSys = "wgs84"


class BatchOut(BaseModel):
    grid_code: list[str | None]
    duty_grid_code: list[str | None]
    community_code: list[str | None]


class InspectorsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    usernames: list[str] = Field(..., max_length=50)


@router.get("/locate", response_model=LocateOut)
def locate(session: SessionDep, _: ActorDep, index: GridIndexDep, lon: float = Query(..., ge=-180, le=180),
           lat: float = Query(..., ge=-90, le=90),
           coord_sys: CoordSys = Query("wgs84", description=f"坐标系 / one of {', '.join(COORD_SYSTEMS)}"),
           ) -> dict[str, Any]:
    """定位 / Which unit grid, duty grid (and its inspectors), community, street and district hold a point."""
    x, y = to_wgs84(lon, lat, coord_sys)
    detail = queries.place_detail(session, index, x, y)
    if detail is None:
        raise queries.outside_error(index)
    return detail


@router.post("/locate", response_model=BatchOut)
def locate_batch(body: BatchIn, _: ActorDep, index: GridIndexDep) -> BatchOut:
    """批量定位 / Locate up to 100,000 points at once (arrays in, arrays out; null where outside)."""
    if len(body.lon) != len(body.lat):
        raise Invalid("length-mismatch", "lon 与 lat 的长度不一致", "lon and lat must have the same length")
    x, y = to_wgs84_np(np.array(body.lon, dtype=float), np.array(body.lat, dtype=float), body.coord_sys)
    found = index.locate_many(x, y)
    hit = found >= 0

    def column(values: np.ndarray) -> list[str | None]:
        out = np.full(len(found), None, dtype=object)
        out[hit] = values[found[hit]]
        listed: list[str | None] = out.tolist()
        return listed

    return BatchOut(grid_code=column(index.codes), duty_grid_code=column(index.duty),
                    community_code=column(index.community))


def _bbox(text: str | None) -> tuple[float, float, float, float] | None:
    if not text:
        return None
    try:
        minx, miny, maxx, maxy = (float(v) for v in text.split(","))
    except ValueError as exc:
        raise Invalid("bad-bbox", "bbox 格式应为 minLon,minLat,maxLon,maxLat", "bbox is minLon,minLat,maxLon,maxLat") from exc
    if not (minx <= maxx and miny <= maxy) or not all(np.isfinite([minx, miny, maxx, maxy])):
        raise Invalid("bad-bbox", "bbox 范围无效", "bbox is empty or not finite")
    return minx, miny, maxx, maxy


@router.get("/grids", response_model=None)
def grids(session: SessionDep, _: ActorDep, community: str | None = Query(None, max_length=12),
          street: str | None = Query(None, max_length=9), district: str | None = Query(None, max_length=6),
          duty_grid: str | None = Query(None, max_length=32),
          bbox: str | None = Query(None, max_length=100, description="minLon,minLat,maxLon,maxLat (WGS84)"),
          ) -> dict[str, Any]:
    """单元网格 GeoJSON / Unit grids with their codes and duty grid, as a GeoJSON FeatureCollection."""
    filters = {"community": community, "street": street, "district": district, "duty_grid": duty_grid,
               "bbox": _bbox(bbox)}
    doc = queries.grids_geojson(session, filters, MAX_FEATURES)
    if doc is None:
        raise Invalid("too-many-grids", f"超过 {MAX_FEATURES} 个网格，请按街道/社区/责任网格筛选",
                      f"More than {MAX_FEATURES} grids; filter by street, community or duty grid")
    return doc


@router.get("/regions", response_model=None)
def regions(session: SessionDep, _: ActorDep, level: Literal["district", "street", "community"] | None = None,
            parent: str | None = Query(None, max_length=12)) -> list[dict[str, Any]]:
    """行政区域 / Districts, streets/towns and communities/villages."""
    return queries.regions(session, level, parent)


@router.get("/duty-grids.geojson", response_model=None)
def duty_grids_geojson(session: SessionDep, _: ActorDep, district: str | None = Query(None, max_length=6),
                       ) -> dict[str, Any]:
    """责任网格边界 / Duty grids as polygons (dissolved from their unit grids), GeoJSON."""
    return queries.duty_grids_geojson(session, district)


@router.get("/regions.geojson", response_model=None)
def regions_geojson(session: SessionDep, _: ActorDep, level: Literal["district", "street", "community"] = "district",
                    parent: str | None = Query(None, max_length=12)) -> dict[str, Any]:
    """行政区域边界 / District, street or community boundaries, GeoJSON."""
    return queries.regions_geojson(session, level, parent)


@router.get("/duty-grids", response_model=None)
def duty_grids(session: SessionDep, _: ActorDep, district: str | None = Query(None, max_length=6),
               ) -> list[dict[str, Any]]:
    """责任网格 / Duty grids with their inspectors and size."""
    return queries.duty_grids(session, district)


@router.put("/duty-grids/{code}/inspectors", response_model=None)
def put_inspectors(code: str, body: InspectorsIn, session: SessionDep,
                   actor: AdminDep, clock: ClockDep) -> dict[str, Any]:
    """设置责任网格监督员 / Set who patrols a duty grid."""
    audit.record(session, actor, "grids.staff", code[:200], body.model_dump(), clock.now())
    return {"code": code, "inspectors": service.set_inspectors(session, code, body.usernames)}
