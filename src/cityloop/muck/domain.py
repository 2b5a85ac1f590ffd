"""Pure rules: which truck passed a spill (distance, time window, nearest pass) and a roadside check's result."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np

# 上路抽查 items: key -> (zh, en). A check fails when any item fails.
CHECK_ITEMS: dict[str, tuple[str, str]] = {
    "sealed": ("密闭", "Sealed body"),
    "appearance": ("车容车貌", "Vehicle appearance"),
    "overload": ("超载", "Not overloaded"),
    "papers": ("证件", "Papers (permit, licence)"),
    "plate": ("号牌", "Plate legible"),
    "spill": ("滴漏抛撒", "No spilling"),
}
CheckResult = Literal["合格", "不合格"]
PASS: Final = "合格"
FAIL: Final = "不合格"
KY = 110_574.0  # metres per degree of latitude


@dataclass(frozen=True)
class Pass:
    """A truck's closest approach to a point: how near, and when (interpolated along its track)."""

    vehicle_id: int
    distance_m: float
    t: float


def closest_approach(track: np.ndarray, lon: float, lat: float) -> tuple[float, float] | None:
    """(distance m, time) of a track's nearest point to (lon, lat), between fixes too; track rows = (t, lon, lat)."""
    if len(track) == 0:
        return None
    kx = 111_320.0 * math.cos(math.radians(lat))
    x, y, t = (track[:, 1] - lon) * kx, (track[:, 2] - lat) * KY, track[:, 0]
    if len(track) == 1:
        return float(math.hypot(x[0], y[0])), float(t[0])
    dx, dy = np.diff(x), np.diff(y)
    seg2 = dx * dx + dy * dy
    with np.errstate(invalid="ignore", divide="ignore"):
        u = np.where(seg2 > 0, -(x[:-1] * dx + y[:-1] * dy) / seg2, 0.0)
    u = np.clip(u, 0.0, 1.0)
    d = np.hypot(x[:-1] + u * dx, y[:-1] + u * dy)
    i = int(np.argmin(d))
    return float(d[i]), float(t[i] + u[i] * (t[i + 1] - t[i]))


def passes(tracks: dict[int, np.ndarray], lon: float, lat: float, at: float, radius_m: float, before_s: float,
           after_s: float) -> list[Pass]:
    """Trucks whose track came within radius_m of the spill during [at - before_s, at + after_s], the nearest
    first (ties: the pass closest in time to the report)."""
    out = []
    for vid, track in tracks.items():
        inside = track[(track[:, 0] >= at - before_s) & (track[:, 0] <= at + after_s)] if len(track) else track
        hit = closest_approach(inside, lon, lat)
        if hit is not None and hit[0] <= radius_m:
            out.append(Pass(vid, round(hit[0], 1), hit[1]))
    return sorted(out, key=lambda p: (p.distance_m, abs(at - p.t), p.vehicle_id))


def check_result(items: dict[str, bool]) -> tuple[CheckResult, list[str]]:
    """(合格/不合格, the failed items in CHECK_ITEMS order) for the items an officer checked (True = passed)."""
    failed = [k for k in CHECK_ITEMS if items.get(k) is False]
    return (FAIL if failed else PASS), failed


def unknown_items(items: dict[str, bool]) -> list[str]:
    """Item keys that are not check items."""
    return sorted(set(items) - set(CHECK_ITEMS))
