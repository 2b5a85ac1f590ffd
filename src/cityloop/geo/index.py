"""The in-memory unit-grid index behind locate(): a lookup raster answers most points with array arithmetic,
and a shapely STRtree answers the points in raster cells that a grid boundary crosses.

A raster cell that no boundary crosses lies wholly inside one grid (or outside all), so the grid that holds
its centre holds every point in it: the raster is exact, never an approximation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike
import shapely
from shapely import STRtree

from cityloop.geo.domain import Place

OUTSIDE, MIXED = -1, -2
CELLS_PER_GRID_SIDE = 16  # raster resolution relative to a typical grid
MAX_RASTER_CELLS = 4_000_000  # 16 MB of int32 labels

Column = Sequence[object] | np.ndarray  # one value per grid (codes, shapes)


class GridIndex:
    """Locate points (WGS84 lon/lat) in unit grids; batched with numpy arrays in and out."""

    def __init__(self, codes: Column, geometries: Column, duty: Column, community: Column, street: Column,
                 district: Column, version: int = 0,
                 fallback: GridIndex | None = None, area_name: str | None = None) -> None:
        self.codes = np.asarray(codes, dtype=object)
        # Where no unit grid holds a point, the regions' own boundaries place it by village, town or district.
        self.fallback, self.area_name = fallback, area_name
        self.duty, self.community = np.asarray(duty, dtype=object), np.asarray(community, dtype=object)
        self.street, self.district = np.asarray(street, dtype=object), np.asarray(district, dtype=object)
        self.geoms = np.asarray(geometries, dtype=object)
        self.version = version
        self.tree = STRtree(self.geoms)
        shapely.prepare(self.geoms)
        self._build_raster()

    def __len__(self) -> int:
        return len(self.codes)

    def _build_raster(self) -> None:
        if len(self.geoms) == 0:
            self.labels = np.full((1, 1), OUTSIDE, dtype=np.int32)
            self.x0 = self.y0 = 0.0
            self.res = 1.0
            return
        minx, miny, maxx, maxy = shapely.total_bounds(self.geoms)
        bounds = shapely.bounds(self.geoms)
        typical = float(np.median(np.sqrt((bounds[:, 2] - bounds[:, 0]) * (bounds[:, 3] - bounds[:, 1]))))
        res = max(typical / CELLS_PER_GRID_SIDE, math.sqrt((maxx - minx) * (maxy - miny) / MAX_RASTER_CELLS), 1e-7)
        nx, ny = int((maxx - minx) / res) + 1, int((maxy - miny) / res) + 1
        self.x0, self.y0, self.res = minx, miny, res
        labels = np.full((ny, nx), OUTSIDE, dtype=np.int32)
        for i, (bx0, by0, bx1, by1) in enumerate(bounds):
            ix0, ix1 = int((bx0 - minx) / res), min(int((bx1 - minx) / res) + 1, nx)
            iy0, iy1 = int((by0 - miny) / res), min(int((by1 - miny) / res) + 1, ny)
            cx = minx + (np.arange(ix0, ix1) + 0.5) * res
            cy = miny + (np.arange(iy0, iy1) + 0.5) * res
            gx, gy = np.meshgrid(cx, cy)
            inside = shapely.contains_xy(self.geoms[i], gx, gy)
            block = labels[iy0:iy1, ix0:ix1]
            block[inside & (block == OUTSIDE)] = i  # overlapping grids: the lowest index wins, as in _exact
        labels[self._crossed(nx, ny)] = MIXED
        self.labels = labels

    def _crossed(self, nx: int, ny: int) -> np.ndarray:
        """Raster cells that some grid boundary passes through (conservatively)."""
        step = self.res / 4
        coords = shapely.get_coordinates(shapely.segmentize(shapely.boundary(self.geoms), step))
        # Every boundary point is within step/2 of a sample, so marking the cells under each sample's
        # (step/2 + ε)-square marks every cell the boundary touches.
        half = step / 2 + self.res * 1e-6
        mask = np.zeros((ny, nx), dtype=bool)
        xs_lo = np.clip(((coords[:, 0] - half - self.x0) / self.res).astype(np.int64), 0, nx - 1)
        xs_hi = np.clip(((coords[:, 0] + half - self.x0) / self.res).astype(np.int64), 0, nx - 1)
        ys_lo = np.clip(((coords[:, 1] - half - self.y0) / self.res).astype(np.int64), 0, ny - 1)
        ys_hi = np.clip(((coords[:, 1] + half - self.y0) / self.res).astype(np.int64), 0, ny - 1)
        for ys in (ys_lo, ys_hi):
            for xs in (xs_lo, xs_hi):
                mask[ys, xs] = True
        return mask

    def locate_many(self, lon: ArrayLike, lat: ArrayLike) -> np.ndarray:
        """Index of the unit grid holding each point (-1 where none); arrays in, an int array out."""
        lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
        fx = np.floor((lon - self.x0) / self.res)
        fy = np.floor((lat - self.y0) / self.res)
        ny, nx = self.labels.shape
        ok = (fx >= 0) & (fx < nx) & (fy >= 0) & (fy < ny)  # NaN compares False: outside
        out = np.full(lon.shape, OUTSIDE, dtype=np.int32)
        out[ok] = self.labels[fy[ok].astype(np.intp), fx[ok].astype(np.intp)]
        mixed = np.flatnonzero(out == MIXED)
        if mixed.size:
            out[mixed] = self._exact(lon[mixed], lat[mixed])
        return out

    def _exact(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        points_idx, grid_idx = self.tree.query(shapely.points(lon, lat), predicate="intersects")
        found = np.full(len(lon), np.iinfo(np.int32).max, dtype=np.int64)
        np.minimum.at(found, points_idx, grid_idx)  # a point on a shared edge belongs to the lower index
        found[found == np.iinfo(np.int32).max] = OUTSIDE
        return found.astype(np.int32)

    def locate_index(self, lon: float, lat: float) -> int:
        """Index of the unit grid holding one point, or -1."""
        fx, fy = math.floor((lon - self.x0) / self.res), math.floor((lat - self.y0) / self.res)
        ny, nx = self.labels.shape
        if not (0 <= fx < nx and 0 <= fy < ny):
            return OUTSIDE
        label = int(self.labels[fy, fx])
        if label != MIXED:
            return label
        hits = self.tree.query(shapely.Point(lon, lat), predicate="intersects")
        return int(hits.min()) if hits.size else OUTSIDE

    def place(self, i: int) -> Place:
        """The codes of grid i."""
        return Place(self.codes[i], self.duty[i], self.community[i], self.street[i], self.district[i])

    def locate(self, lon: float, lat: float) -> Place | None:
        """Where one point is: its unit grid, else (with a fallback) its village/town; None outside the district."""
        if not (math.isfinite(lon) and math.isfinite(lat)):
            return None
        i = self.locate_index(lon, lat)
        if i >= 0:
            return self.place(i)
        return self.fallback.locate(lon, lat) if self.fallback is not None else None
