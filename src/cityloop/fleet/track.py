"""Tracks for display: Douglas–Peucker simplification that keeps each kept point's time and speed (pure)."""

from __future__ import annotations

import math

import numpy as np
import shapely


def simplify(lon: np.ndarray, lat: np.ndarray, tolerance_m: float) -> np.ndarray:
    """Indices of the points Douglas–Peucker keeps at this tolerance (metres); always the first and the last."""
    n = len(lon)
    if n <= 2 or tolerance_m <= 0:
        return np.arange(n)
    kx = 111_320.0 * math.cos(math.radians(float(np.mean(lat))))
    x, y = (lon - lon[0]) * kx, (lat - lat[0]) * 110_574.0
    kept = shapely.get_coordinates(shapely.simplify(shapely.linestrings(x, y), tolerance_m, preserve_topology=False))
    # Douglas–Peucker keeps original vertices in order: walk the track once to recover their indices.
    out, j = [], 0
    for kx_, ky_ in kept:
        while j < n and (x[j] != kx_ or y[j] != ky_):
            j += 1
        if j < n:
            out.append(j)
            j += 1
    if not out or out[-1] != n - 1:
        out.append(n - 1)
    return np.array(out)


def length_m(lon: np.ndarray, lat: np.ndarray) -> float:
    """Path length in metres."""
    if len(lon) < 2:
        return 0.0
    kx = 111_320.0 * math.cos(math.radians(float(np.mean(lat))))
    return float(np.hypot(np.diff(lon) * kx, np.diff(lat) * 110_574.0).sum())
