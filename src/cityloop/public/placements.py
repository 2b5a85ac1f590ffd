"""QR placements (服务指南二维码点位): one row per posted code; images are drawn on demand, so 15,000 cost little."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, cast

import shapely
from sqlalchemy import CursorResult, insert, select, update
from sqlalchemy.orm import Session

from cityloop.config import Settings
from cityloop.geo.models import UnitGrid
from cityloop.public import domain
from cityloop.public.models import QrPlacement, ServicePoint
from cityloop.public.points import Locate
from cityloop.public.schemas import PlacementIn, PlacementPatch
from cityloop.shared.errors import Invalid, NotFound

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
CHUNK = 900  # bound parameters per IN (…) query, under every backend's limit


def base_url(settings: Settings) -> str:
    """The base of the URLs that QR codes encode."""
    return (settings.public_base_url or DEFAULT_BASE_URL).rstrip("/")


def url_of(settings: Settings, code: str) -> str:
    """The absolute URL of a placement's phone page."""
    return domain.placement_url(base_url(settings), code)


def fresh_codes(session: Session, n: int) -> list[str]:
    """n codes not used by any placement yet (collisions are one in 10^12, but are checked)."""
    codes = domain.new_codes(n)
    while True:
        taken: set[str] = set()
        for i in range(0, len(codes), CHUNK):
            taken.update(session.scalars(select(QrPlacement.code).where(QrPlacement.code.in_(codes[i:i + CHUNK]))))
        if not taken:
            return codes
        avoid = taken | set(codes)
        codes = [c for c in codes if c not in taken]
        codes += domain.new_codes(n - len(codes), taken=avoid.__contains__)


def create_many(session: Session, rows: list[dict[str, Any]], now: datetime) -> list[str]:
    """Insert placements (label, lon, lat, grid_code, batch, address, service_point_id) with fresh codes (no commit)."""
    codes = fresh_codes(session, len(rows))
    values = [{"code": code, "label": r["label"], "batch": r.get("batch"), "lon": r["lon"], "lat": r["lat"],
               "grid_code": r.get("grid_code"), "address": r.get("address"),
               "service_point_id": r.get("service_point_id"), "active": True, "scans": 0, "created_at": now}
              for code, r in zip(codes, rows)]
    for i in range(0, len(values), 5000):
        session.execute(insert(QrPlacement), values[i:i + 5000])
    return codes


def create(session: Session, body: PlacementIn, locate: Locate, now: datetime) -> QrPlacement:
    """One placement at a place (optionally at a service point)."""
    if body.service_point_id is not None and session.get(ServicePoint, body.service_point_id) is None:
        raise Invalid("no-such-point", "服务点位不存在", "No such service point")
    found = locate(body.lon, body.lat)
    code = create_many(session, [{**body.model_dump(), "grid_code": getattr(found, "grid_code", None)}], now)[0]
    session.commit()
    return get(session, code)


def _spread(geometry: str, n: int) -> list[tuple[float, float]]:
    """n points inside a grid: its representative point, then a lattice of interior points."""
    shape = shapely.from_geojson(geometry)
    first = shape.representative_point()
    points = [(first.x, first.y)]
    if n > 1:
        x0, y0, x1, y1 = shape.bounds
        side = 2
        while len(points) < n and side <= 16:
            lattice = [((x0 + (x1 - x0) * (i + 0.5) / side), (y0 + (y1 - y0) * (j + 0.5) / side))
                       for j in range(side) for i in range(side)]
            points = [points[0]] + [p for p in lattice if shape.contains(shapely.Point(p))]
            side += 1
        points = (points * n)[:n] if len(points) < n else points[:n]
    return [(round(x, 6), round(y, 6)) for x, y in points]


def spread_over_grids(session: Session, batch: str, per_grid: int, area_code: str | None, label: str,
                      now: datetime, limit: int = 100_000) -> int:
    """Placements in every unit grid of an area (district, street, community or one grid), per_grid each."""
    stmt = select(UnitGrid.code, UnitGrid.geometry).order_by(UnitGrid.code)
    if area_code:
        stmt = stmt.where(UnitGrid.code.startswith(area_code))
    grids = session.execute(stmt).all()
    if not grids:
        raise Invalid("no-grids", "该区域没有单元网格", "No unit grids in that area")
    if len(grids) * per_grid > limit:
        raise Invalid("too-many", f"一次最多生成 {limit} 个二维码", f"At most {limit} codes at once")
    rows = [{"label": f"{label} {code[-6:]}-{i + 1}", "lon": x, "lat": y, "grid_code": code, "batch": batch}
            for code, geometry in grids for i, (x, y) in enumerate(_spread(geometry, per_grid))]
    create_many(session, rows, now)
    session.commit()
    return len(rows)


def get(session: Session, code: str) -> QrPlacement:
    """One placement by its code, or 404."""
    placement = session.scalar(select(QrPlacement).where(QrPlacement.code == code.upper()))
    if placement is None:
        raise NotFound("no-such-placement", "二维码不存在", "No such QR placement")
    return placement


def patch(session: Session, code: str, body: PlacementPatch) -> QrPlacement:
    """Relabel or retire a placement."""
    placement = get(session, code)
    for key, value in body.model_dump(exclude_unset=True).items():
        if key in ("label", "active") and value is None:
            raise Invalid("required", f"{key} 不能为空", f"{key} cannot be empty")
        setattr(placement, key, value)
    session.commit()
    return placement


def record_scan(session: Session, code: str, now: datetime) -> bool:
    """Count one scan of an active placement; False when there is none."""
    done = cast(CursorResult[Any], session.execute(update(QrPlacement).where(QrPlacement.code == code, QrPlacement.active.is_(True))
                           .values(scans=QrPlacement.scans + 1, last_scan_at=now)))
    session.commit()
    return bool(done.rowcount)


def for_sheet(session: Session, batch: str | None, codes: Iterable[str] | None, offset: int,
              limit: int) -> list[tuple[str, str]]:
    """(code, label) of the placements a sheet prints, in code order of creation."""
    stmt = select(QrPlacement.code, QrPlacement.label).where(QrPlacement.active.is_(True)).order_by(QrPlacement.id)
    if batch:
        stmt = stmt.where(QrPlacement.batch == batch)
    if codes:
        stmt = stmt.where(QrPlacement.code.in_([c.upper() for c in codes if domain.CODE_RE.match(c.upper())][:CHUNK]))
    return [(code, label) for code, label in session.execute(stmt.offset(offset).limit(limit))]
