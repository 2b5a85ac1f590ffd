"""Grid rules (pure): region and unit-grid codes, cutting a community into ≈10,000 m² cells numbered
west→east, north→south, and splitting unit grids into compact duty grids."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

CELL_M = 100.0  # 万米单元网格: a 100 m × 100 m cell
MAX_SEQ = 999  # three digits of sequence per community
SLIVER_SHARE = 0.25  # a clipped piece smaller than this share of a full cell joins its neighbour
LEVEL_BY_LENGTH = {6: "district", 9: "street", 12: "community", 15: "grid"}
PARENT_LENGTH = {"street": 6, "community": 9, "grid": 12}


class GridError(ValueError):
    """Geometry or codes that cannot make valid grids."""


@dataclass(frozen=True)
class Place:
    """Where a point is: unit grid, duty grid, community, street and district codes."""

    grid_code: str
    duty_grid_code: str | None
    community_code: str
    street_code: str
    district_code: str


Locate = Callable[[float, float], Place | None]  # (lon, lat) in WGS84 → where it is, None outside the district


def level_of(code: str) -> str | None:
    """district / street / community / grid from the length of an all-digit code, else None."""
    if not isinstance(code, str) or not (code.isascii() and code.isdigit()):
        return None
    return LEVEL_BY_LENGTH.get(len(code))


def parent_code(code: str) -> str | None:
    """The enclosing region's code (a grid's community, a community's street, a street's district)."""
    level = level_of(code)
    return code[:PARENT_LENGTH[level]] if level in PARENT_LENGTH else None


def grid_code(community_code: str, seq: int) -> str:
    """15-digit unit-grid code: 12-digit community code + 3-digit sequence (001–999)."""
    if level_of(community_code) != "community":
        raise GridError(f"社区代码应为 12 位数字 / a community code has 12 digits: {community_code!r}")
    if not 1 <= seq <= MAX_SEQ:
        raise GridError(f"网格顺序码应在 001–999 之间 / grid sequence must be 1–999, got {seq}")
    return f"{community_code}{seq:03d}"


def cell_size_for(area_m2: float, cell_m: float = CELL_M) -> float:
    """The cell side to use: the wanted size, enlarged only when a community would need more than 999 cells."""
    # 0.9 leaves room for the cells the boundary cuts into extra pieces.
    needed = math.sqrt(area_m2 / (MAX_SEQ * 0.9))
    return max(cell_m, math.ceil(needed))


@dataclass(frozen=True)
class Cell:
    """One unit grid cut from a community, in projected metres; row grows northwards, col eastwards."""

    row: int
    col: int
    geometry: BaseGeometry


def _polygonal(geom: BaseGeometry) -> BaseGeometry | None:
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon") and p.area > 0]
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else shapely.union_all(parts)


def cut_community(polygon: BaseGeometry, cell_m: float = CELL_M) -> list[Cell]:
    """Cut a projected community polygon along a lattice of cell_m squares anchored at the projection origin.

    Pieces smaller than SLIVER_SHARE of a cell join the neighbour they share the longest edge with, so no
    grid is a sliver and the cells still cover the community exactly. Returned in numbering order.
    """
    if polygon.is_empty or polygon.area <= 0:
        raise GridError("社区边界为空 / the community boundary is empty")
    minx, miny, maxx, maxy = polygon.bounds
    cols = np.arange(math.floor(minx / cell_m), math.ceil(maxx / cell_m))
    rows = np.arange(math.floor(miny / cell_m), math.ceil(maxy / cell_m))
    cc, rr = (a.ravel() for a in np.meshgrid(cols, rows))
    boxes = shapely.box(cc * cell_m, rr * cell_m, (cc + 1) * cell_m, (rr + 1) * cell_m)
    shapely.prepare(polygon)
    hit = shapely.intersects(polygon, boxes)
    pieces = shapely.intersection(boxes[hit], polygon)
    cells: dict[tuple[int, int], BaseGeometry] = {}
    for r, c, piece in zip(rr[hit], cc[hit], pieces):
        piece = _polygonal(piece)
        if piece is not None:
            cells[(int(r), int(c))] = piece
    _merge_slivers(cells, SLIVER_SHARE * cell_m * cell_m)
    return [Cell(r, c, g) for (r, c), g in sorted(cells.items(), key=lambda kv: _north_west(kv[0]))]


def _north_west(key: tuple[int, int]) -> tuple[int, int]:
    row, col = key
    return -row, col


def _merge_slivers(cells: dict[tuple[int, int], BaseGeometry], min_area: float) -> None:
    smalls = sorted((g.area, key) for key, g in cells.items() if g.area < min_area)
    for _, key in smalls:
        small = cells.get(key)
        if small is None or len(cells) == 1:
            continue
        keys = [k for k in cells if k != key]
        geoms = np.array([cells[k] for k in keys], dtype=object)
        near = np.flatnonzero(shapely.intersects(geoms, small))
        if near.size == 0:
            continue  # an island of the community: it stays a grid of its own
        shared = shapely.length(shapely.intersection(shapely.boundary(geoms[near]), small.boundary))
        best = keys[near[int(np.argmax(shared))]]
        if shared.max() <= 0:
            continue
        merged = _polygonal(shapely.union(cells[best], small))
        if merged is not None:
            del cells[best], cells[key]
            # A grid is numbered by its north-westernmost lattice cell, so the corner grid stays 001.
            cells[min(best, key, key=_north_west)] = merged


def split_balanced(xs: np.ndarray, ys: np.ndarray, parts: int) -> np.ndarray:
    """Label points 0..parts-1 in compact groups of near-equal size (recursive bisection on the longer axis);
    labels run north-west first."""
    xs, ys = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
    if parts < 1:
        raise GridError("责任网格数量至少为 1 / at least one duty grid")
    if parts > len(xs):
        raise GridError(f"单元网格只有 {len(xs)} 个，不够分成 {parts} 个责任网格 / "
                        f"{len(xs)} unit grids cannot make {parts} duty grids")
    labels = np.empty(len(xs), dtype=int)

    def bisect(idx: np.ndarray, k: int, first: int) -> None:
        if k == 1:
            labels[idx] = first
            return
        wide = np.ptp(xs[idx]) >= np.ptp(ys[idx])
        order = idx[np.argsort(xs[idx] if wide else -ys[idx], kind="stable")]
        k1 = k // 2
        cut = round(len(idx) * k1 / k)
        bisect(order[:cut], k1, first)
        bisect(order[cut:], k - k1, first + k1)

    bisect(np.arange(len(xs)), parts, 0)
    # Renumber by group centre: north first, then west.
    centres = [(-ys[labels == g].mean(), xs[labels == g].mean()) for g in range(parts)]
    rank = np.empty(parts, dtype=int)
    rank[sorted(range(parts), key=lambda g: centres[g])] = np.arange(parts)
    return rank[labels]
