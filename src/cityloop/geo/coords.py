"""Coordinate systems used by Chinese map vendors: WGS84/CGCS2000, GCJ-02 (国测局/火星坐标) and BD-09 (百度).

The forward formulas are the widely published ones (e.g. wandergis/coordtransform); the inverses are solved by
fixed-point iteration, so a round trip is accurate to ~1e-9° instead of the ~1e-5° of the one-step inverse.
WGS84 and CGCS2000 differ by centimetres and are treated as identical.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, get_args

import numpy as np
from numpy.typing import ArrayLike, NDArray

CoordSys = Literal["wgs84", "cgcs2000", "gcj02", "bd09"]
COORD_SYSTEMS: tuple[str, ...] = get_args(CoordSys)

_A = 6378245.0  # Krasovsky 1940 semi-major axis used by GCJ-02
_EE = 0.00669342162296594323  # its first eccentricity squared
_X_PI = np.pi * 3000.0 / 180.0
_ITERATIONS = 6

Transform = Callable[[np.ndarray], np.ndarray]  # an (n, 2) coordinate array to another


def in_china(lon: ArrayLike, lat: ArrayLike) -> NDArray[np.bool_]:
    """True where GCJ-02 applies (the coarse mainland box used by every public implementation)."""
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    return (lon > 73.66) & (lon < 135.05) & (lat > 3.86) & (lat < 53.55)


def _dlat(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    ret: np.ndarray = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    return ret


def _dlon(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    ret: np.ndarray = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    return ret


def wgs84_to_gcj02_np(lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 → GCJ-02 for arrays; points outside China are returned unchanged."""
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    dlat = _dlat(lon - 105.0, lat - 35.0)
    dlon = _dlon(lon - 105.0, lat - 35.0)
    radlat = lat / 180.0 * np.pi
    magic = 1 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrtmagic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * np.pi)
    inside = in_china(lon, lat)
    return np.where(inside, lon + dlon, lon), np.where(inside, lat + dlat, lat)


def gcj02_to_bd09_np(lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 → BD-09 for arrays."""
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    z = np.sqrt(lon * lon + lat * lat) + 0.00002 * np.sin(lat * _X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def _invert(forward: Callable[[ArrayLike, ArrayLike], tuple[np.ndarray, np.ndarray]], lon: ArrayLike,
            lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    # Solve forward(x) = target: start at the target and subtract the residual until it vanishes.
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    x, y = lon.copy(), lat.copy()
    for _ in range(_ITERATIONS):
        fx, fy = forward(x, y)
        x, y = x - (fx - lon), y - (fy - lat)
    return x, y


def gcj02_to_wgs84_np(lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 → WGS84 for arrays (iterative inverse)."""
    return _invert(wgs84_to_gcj02_np, lon, lat)


def bd09_to_gcj02_np(lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """BD-09 → GCJ-02 for arrays (iterative inverse)."""
    return _invert(gcj02_to_bd09_np, lon, lat)


def to_wgs84_np(lon: ArrayLike, lat: ArrayLike, coord_sys: str) -> tuple[np.ndarray, np.ndarray]:
    """Convert arrays from coord_sys (wgs84, cgcs2000, gcj02, bd09) to WGS84."""
    if coord_sys in ("wgs84", "cgcs2000"):
        return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    if coord_sys == "gcj02":
        return gcj02_to_wgs84_np(lon, lat)
    if coord_sys == "bd09":
        return gcj02_to_wgs84_np(*bd09_to_gcj02_np(lon, lat))
    raise ValueError(f"unknown coordinate system {coord_sys!r}; expected one of {', '.join(COORD_SYSTEMS)}")


def from_wgs84_np(lon: ArrayLike, lat: ArrayLike, coord_sys: str) -> tuple[np.ndarray, np.ndarray]:
    """Convert arrays from WGS84 to coord_sys (for map display in vendor coordinates)."""
    if coord_sys in ("wgs84", "cgcs2000"):
        return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    if coord_sys == "gcj02":
        return wgs84_to_gcj02_np(lon, lat)
    if coord_sys == "bd09":
        return gcj02_to_bd09_np(*wgs84_to_gcj02_np(lon, lat))
    raise ValueError(f"unknown coordinate system {coord_sys!r}; expected one of {', '.join(COORD_SYSTEMS)}")


def to_wgs84(lon: float, lat: float, coord_sys: str = "wgs84") -> tuple[float, float]:
    """Convert one point from coord_sys to WGS84 (lon, lat)."""
    if coord_sys in ("wgs84", "cgcs2000"):
        return float(lon), float(lat)
    x, y = to_wgs84_np(lon, lat, coord_sys)
    return float(x), float(y)


def from_wgs84(lon: float, lat: float, coord_sys: str) -> tuple[float, float]:
    """Convert one point from WGS84 to coord_sys (lon, lat)."""
    x, y = from_wgs84_np(lon, lat, coord_sys)
    return float(x), float(y)


def gauss_kruger(lon: float) -> tuple[Transform, Transform]:
    """(to_metres, to_degrees) shapely-ready transforms for the CGCS2000 3° Gauss-Krüger zone around lon."""
    from pyproj import CRS, Transformer

    central = 3 * round(lon / 3)
    projected = CRS.from_proj4(f"+proj=tmerc +lat_0=0 +lon_0={central} +k=1 +x_0=500000 +y_0=0 "
                               "+ellps=GRS80 +units=m +no_defs")
    forward = Transformer.from_crs("EPSG:4490", projected, always_xy=True)
    inverse = Transformer.from_crs(projected, "EPSG:4490", always_xy=True)

    def to_metres(coords: np.ndarray) -> np.ndarray:
        return np.column_stack(forward.transform(coords[:, 0], coords[:, 1]))

    def to_degrees(coords: np.ndarray) -> np.ndarray:
        return np.column_stack(inverse.transform(coords[:, 0], coords[:, 1]))

    return to_metres, to_degrees
