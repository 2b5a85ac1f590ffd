"""What positions are checked against, compiled for batch geometry (pure): roads and zones with speed limits,
restricted zones, sites, the city, and permits with their corridors — all projected to metres around the
county, prepared for shapely's vectorised predicates.

A local equirectangular projection is enough here: over a county (< 100 km) its scale error is well under 1 %,
a few decimetres on a 50 m corridor, and it costs two multiplications per point."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import shapely

EPOCH = date(1970, 1, 1)


def parse_hours(items: list[str] | tuple[str, ...]) -> tuple[tuple[int, int], ...]:
    """["22:00-06:00", …] → ((1320, 360), …) in minutes of the day; raises ValueError on bad text."""
    out = []
    for item in items:
        start, end = (part.strip() for part in item.split("-"))
        minutes = []
        for hhmm in (start, end):
            h, m = hhmm.split(":")
            if not (h.isdigit() and m.isdigit() and len(m) == 2 and (int(h), int(m)) <= (24, 0) and int(m) < 60):
                raise ValueError(f"bad time {hhmm!r}")
            minutes.append(int(h) * 60 + int(m))
        out.append((minutes[0], minutes[1] % 1440))
    return tuple(out)


def in_windows(minute: np.ndarray, windows: np.ndarray) -> np.ndarray:
    """Whether each minute of the day falls in its row of windows (n, W, 2); start == end means all day, a window
    that ends before it starts runs over midnight, (-1, -1) is padding."""
    s, e = windows[..., 0], windows[..., 1]
    m = minute[:, None]
    inside = np.where(s < e, (m >= s) & (m < e), (m >= s) | (m < e)) | (s == e)
    found: np.ndarray = (inside & (s >= 0)).any(axis=1)
    return found


@dataclass(frozen=True)
class VehicleSpec:
    id: int
    sealed: bool = True
    load_sensor: bool = True


@dataclass(frozen=True)
class ZoneSpec:
    """kind: restricted | speed | road (a line with width_m)."""

    id: int
    kind: str
    name: str
    geometry: shapely.Geometry
    speed_limit: float | None = None
    width_m: float | None = None
    hours: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class SiteSpec:
    id: int
    kind: str
    name: str
    geometry: shapely.Geometry


@dataclass(frozen=True)
class PermitSpec:
    id: int
    vehicle_ids: tuple[int, ...]
    route: shapely.Geometry  # LineString, lon/lat
    width_m: float
    first_day: date
    last_day: date
    hours: tuple[tuple[int, int], ...] = ()


@dataclass
class WorldSpec:
    vehicles: list[VehicleSpec] = field(default_factory=list)
    zones: list[ZoneSpec] = field(default_factory=list)
    sites: list[SiteSpec] = field(default_factory=list)
    permits: list[PermitSpec] = field(default_factory=list)
    city: shapely.Geometry | None = None  # where unpermitted hauling counts; None = everywhere
    origin: tuple[float, float] | None = None


class Layer:
    """A prepared geometry in metres with its bounding box (a cheap prefilter before the exact test)."""

    def __init__(self, geom: shapely.Geometry) -> None:
        self.geom = geom
        shapely.prepare(geom)
        self.box = shapely.bounds(geom)

    def contains(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        x0, y0, x1, y1 = self.box
        near = np.flatnonzero((x >= x0) & (x <= x1) & (y >= y0) & (y <= y1))
        out = np.zeros(len(x), bool)
        if len(near):
            out[near] = shapely.contains_xy(self.geom, x[near], y[near])
        return out


class World:
    """A compiled WorldSpec."""

    def __init__(self, spec: WorldSpec, hysteresis_m: float = 10.0, site_margin_m: float = 30.0) -> None:
        self.spec = spec
        lon0, lat0 = spec.origin or _centre(spec)
        self.lon0, self.lat0 = lon0, lat0
        self.kx, self.ky = 111_320.0 * math.cos(math.radians(lat0)), 110_574.0
        self.vehicles = {v.id: v for v in spec.vehicles}
        limits: dict[float, list[shapely.Geometry]] = {}
        for z in spec.zones:
            if z.kind in ("speed", "road") and z.speed_limit:
                geom = self.to_m(z.geometry)
                if z.kind == "road":
                    geom = shapely.buffer(geom, (z.width_m or 20.0) / 2)
                limits.setdefault(float(z.speed_limit), []).append(geom)
        self.speed_layers = [(lim, Layer(shapely.union_all(gs))) for lim, gs in sorted(limits.items())]
        self.restricted = [(z, Layer(self.to_m(z.geometry)), _windows([z.hours or ((0, 0),)]))
                           for z in spec.zones if z.kind == "restricted"]
        sites = [shapely.buffer(self.to_m(s.geometry), site_margin_m) for s in spec.sites]
        self.sites = Layer(shapely.union_all(sites)) if sites else None
        self.city = Layer(self.to_m(spec.city)) if spec.city is not None else None
        ps = spec.permits
        self.permit_ids = np.array([p.id for p in ps], dtype=np.int64)
        self.first_day = np.array([(p.first_day - EPOCH).days for p in ps], dtype=np.int64)
        self.last_day = np.array([(p.last_day - EPOCH).days for p in ps], dtype=np.int64)
        self.windows = _windows([p.hours or ((0, 0),) for p in ps])
        self.hours_text = [", ".join(f"{a // 60:02d}:{a % 60:02d}-{b // 60:02d}:{b % 60:02d}" for a, b in p.hours)
                           or "00:00-24:00" for p in ps]
        routes = [self.to_m(p.route) for p in ps]
        self.outer = np.array([shapely.buffer(r, p.width_m / 2) for r, p in zip(routes, ps)], dtype=object)
        self.inner = np.array([shapely.buffer(r, max(p.width_m / 2 - hysteresis_m, 1.0)) for r, p in zip(routes, ps)],
                              dtype=object)
        if len(ps):
            shapely.prepare(self.outer)
            shapely.prepare(self.inner)
        self.permits_of: dict[int, list[int]] = {}
        for i, p in enumerate(ps):
            for vid in p.vehicle_ids:
                self.permits_of.setdefault(vid, []).append(i)

    def project(self, lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray]:
        """WGS84 degrees → local metres."""
        return (np.asarray(lon, float) - self.lon0) * self.kx, (np.asarray(lat, float) - self.lat0) * self.ky

    def to_m(self, geom: shapely.Geometry) -> shapely.Geometry:
        """A lon/lat geometry in local metres."""
        return shapely.transform(geom, lambda c: np.column_stack(self.project(c[:, 0], c[:, 1])))

    def speed_limit(self, x: np.ndarray, y: np.ndarray, default: float) -> np.ndarray:
        """The lowest limit of the roads and zones each point is in, else the default."""
        limit = np.full(len(x), np.inf)
        for lim, layer in self.speed_layers:
            limit[layer.contains(x, y) & (lim < limit)] = lim
        return np.where(np.isinf(limit), default, limit)

    def restricted_zone(self, x: np.ndarray, y: np.ndarray, minute: np.ndarray) -> np.ndarray:
        """Index into self.restricted of the active restricted zone holding each point, or -1."""
        out = np.full(len(x), -1)
        for i, (_, layer, windows) in enumerate(self.restricted):
            hit = (out < 0) & layer.contains(x, y)
            if hit.any():
                hit[hit] = in_windows(minute[hit], np.broadcast_to(windows, (int(hit.sum()),) + windows.shape[1:]))
                out[hit] = i
        return out

    def in_site(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return self.sites.contains(x, y) if self.sites else np.zeros(len(x), bool)

    def in_city(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return self.city.contains(x, y) if self.city else np.ones(len(x), bool)


def _windows(rows: list[tuple[tuple[int, int], ...]]) -> np.ndarray:
    width = max((len(r) for r in rows), default=1)
    out = np.full((len(rows), width, 2), -1, dtype=np.int64)
    for i, row in enumerate(rows):
        for j, (a, b) in enumerate(row):
            out[i, j] = (a, b)
    return out


def _centre(spec: WorldSpec) -> tuple[float, float]:
    geoms = [z.geometry for z in spec.zones] + [s.geometry for s in spec.sites] + [p.route for p in spec.permits]
    if spec.city is not None:
        geoms.append(spec.city)
    if not geoms:
        return 118.43, 32.45
    x0, y0, x1, y1 = shapely.total_bounds(np.array(geoms, dtype=object))
    return (x0 + x1) / 2, (y0 + y1) / 2
