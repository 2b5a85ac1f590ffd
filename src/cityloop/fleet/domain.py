"""Violation rules for muck trucks (pure): a streaming engine that keeps per-vehicle state and evaluates
positions a batch at a time with numpy and shapely's vectorised predicates.

Rules run on device time. Back-filled positions (0x0704 type 1) and anything older than what a vehicle already
reported are stored but never evaluated, so history cannot raise real-time violations. Each rule fires once per
episode (a run of positions where its condition holds; see runs.py) and reports when the episode ends."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from cityloop.fleet.runs import Groups, RunState, runs
from cityloop.fleet.world import World, in_windows

if TYPE_CHECKING:
    from cityloop.config import Settings

KINDS: dict[str, tuple[str, str]] = {
    "speeding": ("超速行驶", "Speeding"),
    "off_route": ("偏离核准路线", "Off the approved route"),
    "out_of_hours": ("超时拉运", "Hauling outside permitted hours"),
    "unpermitted": ("无证运输", "Hauling without a permit"),
    "dumping": ("违规倾倒", "Unapproved dumping"),
    "restricted": ("驶入禁行区", "Entering a restricted zone"),
    "offline": ("行驶中终端离线", "Terminal offline while moving"),
    "unsealed": ("未密闭运输", "Hauling without a sealed body"),
    # Not found by the rule engine: a street report matched to the truck that passed, a failed roadside check.
    "spilling": ("沿街抛撒", "Spilling along the street"),
    "spot_check": ("上路抽查不合格", "Failed roadside check"),
}
FLAG_BACKFILL, FLAG_BAD_CHECKSUM, FLAG_WGS84 = 1, 2, 4  # FLAG_WGS84: converted by whoever forwarded it
_DAY = 86400
# A position as the gateway and the ingest paths hand it over:
# (vehicle_id, t, lon, lat, speed, heading, alarm, status, flags), t in UNIX seconds, lon/lat as sent, speed in km/h
Fix = tuple[int, float, float, float, float, int, int, int, int]
# (state index, x, y, minute of the day, day) per point → the probe's arrays (see RuleEngine.probe)
Probe = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray], dict[str, np.ndarray]]


@dataclass(frozen=True)
class Thresholds:
    default_speed_kmh: float = 50.0
    speed_tolerance: float = 0.05
    speeding_s: float = 15.0
    off_route_s: float = 60.0
    off_route_m: float = 300.0
    out_of_hours_s: float = 60.0
    unpermitted_s: float = 120.0
    dumping_s: float = 600.0
    restricted_s: float = 10.0
    offline_s: float = 300.0
    unsealed_s: float = 60.0
    moving_kmh: float = 5.0

    @classmethod
    def from_settings(cls, s: Settings) -> Thresholds:
        """The thresholds configured in Settings."""
        return cls(s.fleet_default_speed_kmh, s.fleet_speed_tolerance, s.fleet_speeding_seconds,
                   s.fleet_off_route_seconds, s.fleet_off_route_metres, s.fleet_out_of_hours_seconds,
                   s.fleet_unpermitted_seconds, s.fleet_dumping_minutes * 60, s.fleet_restricted_seconds,
                   s.fleet_offline_minutes * 60, s.fleet_unsealed_seconds, s.fleet_moving_kmh)


@dataclass
class Event:
    """A violation episode opened (fired) or, with closed=True, ended."""

    kind: str
    vehicle_id: int
    start: float  # UNIX seconds
    at: float  # when it fired, or when it ended
    lon: float
    lat: float
    closed: bool = False
    permit_id: int | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """One key per episode (idempotency of the violation and its case)."""
        return f"{self.vehicle_id}:{self.kind}:{int(self.start)}"


def columns(rows: list[Fix]) -> list[tuple[Any, ...]]:
    """The nine columns of fix tuples (a transpose costs per row: make it once per batch)."""
    return list(zip(*rows)) if rows else [()] * 9


@dataclass
class Batch:
    """Positions of many vehicles, any order: arrays of equal length (WGS84, km/h, UNIX seconds)."""

    vehicle_id: np.ndarray
    t: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    speed: np.ndarray
    status: np.ndarray
    flags: np.ndarray

    @classmethod
    def of(cls, rows: list[Fix]) -> Batch:
        """From fix tuples (vehicle_id, t, lon, lat, speed, heading, alarm, status, flags)."""
        return cls.of_columns(columns(rows))

    @classmethod
    def of_columns(cls, cols: list[tuple[Any, ...]]) -> Batch:
        """From the columns of fix tuples (see columns)."""
        return cls(np.array(cols[0], np.int64), np.array(cols[1], float), np.array(cols[2], float),
                   np.array(cols[3], float), np.array(cols[4], float), np.array(cols[7], np.int64),
                   np.array(cols[8], np.int64))


class RuleEngine:
    """Per-vehicle state across batches for every rule."""

    RUN_KINDS = ("speeding", "off_route", "out_of_hours", "unpermitted", "dumping", "restricted", "unsealed")

    def __init__(self, world: World, th: Thresholds | None = None, tz_offset_s: int = 8 * 3600) -> None:
        self.th, self.tz = th or Thresholds(), tz_offset_s
        self.index: dict[int, int] = {}
        self.ids = np.zeros(0, np.int64)
        self.last_t = np.zeros(0)
        self.last_lon, self.last_lat = np.zeros(0), np.zeros(0)
        self.last_moving = np.zeros(0, bool)
        self.offline_fired = np.zeros(0, bool)
        self.outside = np.zeros(0, np.int8)  # off-route hysteresis: 1 outside the corridor, 0 inside
        self.states = {k: RunState() for k in self.RUN_KINDS}
        self.set_world(world)

    def set_world(self, world: World) -> None:
        """Check against a new world from now on (state is kept)."""
        self.world = world
        self._rebuild_vehicle_tables()

    def _rebuild_vehicle_tables(self) -> None:
        w, n = self.world, len(self.ids)
        width = max((len(v) for v in w.permits_of.values()), default=1)
        self.perm = np.full((n, width), -1, np.int64)
        self.sealed, self.sensor = np.ones(n, bool), np.ones(n, bool)
        for vid, i in self.index.items():
            plist = w.permits_of.get(vid, [])
            self.perm[i, :len(plist)] = plist
            spec = w.vehicles.get(vid)
            if spec is not None:
                self.sealed[i], self.sensor[i] = spec.sealed, spec.load_sensor

    def _indices(self, vehicle_id: np.ndarray) -> np.ndarray:
        uniq, inverse = np.unique(vehicle_id, return_inverse=True)
        new = [int(v) for v in uniq if int(v) not in self.index]
        if new:
            for v in new:
                self.index[v] = len(self.index)
            n = len(self.index)
            self.ids = np.concatenate([self.ids, np.array(new, np.int64)])
            grow = n - len(self.last_t)
            self.last_t = np.concatenate([self.last_t, np.full(grow, np.nan)])
            for name in ("last_lon", "last_lat"):
                setattr(self, name, np.concatenate([getattr(self, name), np.zeros(grow)]))
            self.last_moving = np.concatenate([self.last_moving, np.zeros(grow, bool)])
            self.offline_fired = np.concatenate([self.offline_fired, np.zeros(grow, bool)])
            self.outside = np.concatenate([self.outside, np.zeros(grow, np.int8)])
            for st in self.states.values():
                st.grow(n)
            self._rebuild_vehicle_tables()
        return np.array([self.index[int(v)] for v in uniq], np.int64)[inverse]

    def probe(self, vi: np.ndarray, x: np.ndarray, y: np.ndarray, minute: np.ndarray, day: np.ndarray,
              ) -> dict[str, np.ndarray]:
        """Where each point is, vectorised: speed limit, restricted zone, site, city, and its vehicle's permits."""
        w = self.world
        valid, hours_ok, outer, inner, permit = self._permits(vi, x, y, minute, day)
        return {"limit": w.speed_limit(x, y, self.th.default_speed_kmh), "zone": w.restricted_zone(x, y, minute),
                "in_site": w.in_site(x, y), "in_city": w.in_city(x, y), "valid": valid, "hours_ok": hours_ok,
                "outer": outer, "inner": inner, "permit": permit}

    def evaluate(self, b: Batch, probe: Probe | None = None) -> list[Event]:
        """Run every rule over a batch; returns the episodes that opened or ended in it, in time order.
        `probe` replaces the vectorised geometry (the benchmark's per-point baseline uses it)."""
        if len(b.t) == 0:
            return []
        vi_all = self._indices(b.vehicle_id)
        order = np.lexsort((b.t, vi_all))
        vi, t = vi_all[order], b.t[order]
        same = np.r_[False, vi[1:] == vi[:-1]]
        # Newer than what the vehicle reported before (fmax skips the NaN of a vehicle never seen) and no repeat.
        fresh = t > np.fmax(self.last_t[vi], np.where(same, np.r_[-np.inf, t[:-1]], -np.inf))
        keep = order[fresh & (b.flags[order] & FLAG_BACKFILL == 0)]
        if len(keep) == 0:
            return []
        vi, t = vi_all[keep], b.t[keep]
        lon, lat, speed, status = b.lon[keep], b.lat[keep], b.speed[keep], b.status[keep]
        w, th = self.world, self.th
        x, y = w.project(lon, lat)
        first = np.r_[True, vi[1:] != vi[:-1]]
        last = np.r_[vi[1:] != vi[:-1], True]
        prev_t = np.where(first, self.last_t[vi], np.r_[np.nan, t[:-1]])
        px, py = w.project(np.where(first, self.last_lon[vi], np.r_[0.0, lon[:-1]]),
                           np.where(first, self.last_lat[vi], np.r_[0.0, lat[:-1]]))
        gap = t - prev_t
        local = t + self.tz
        minute, day = (local % _DAY) // 60, local // _DAY
        # An episode breaks after a gap, at local midnight, and before a vehicle's very first point (NaN).
        cont = (gap <= th.offline_s) & (day == (prev_t + self.tz) // _DAY)
        step = np.where(cont, np.hypot(x - px, y - py), 0.0)
        g = Groups(vi, first, last, cont, t, step)
        moving = speed >= th.moving_kmh
        loaded = ((status >> 8) & 3 != 0) | ~self.sensor[vi]
        geo = (probe or self.probe)(vi, x, y, minute, day)
        limit, zone, in_site, in_city = geo["limit"], geo["zone"], geo["in_site"], geo["in_city"]
        valid, hours_ok, outer, inner, permit = (geo[k] for k in ("valid", "hours_ok", "outer", "inner", "permit"))
        hauling = moving & ~in_site  # driving on the road, not manoeuvring inside a site
        raw = np.where(inner | in_site, 0, np.where(outer, -1, 1))
        raw[first & (raw < 0)] = self.outside[vi[first & (raw < 0)]]
        known = np.flatnonzero(raw >= 0)
        outside = raw[known][np.searchsorted(known, np.arange(len(raw)), side="right") - 1]  # forward fill
        self.outside[vi[last]] = outside[last]
        conds = {
            "speeding": (speed > limit * (1 + th.speed_tolerance), th.speeding_s, {"value": speed}),
            "off_route": (valid & (outside == 1), th.off_route_s, {"min_m": th.off_route_m}),
            "out_of_hours": (valid & ~hours_ok & loaded, th.out_of_hours_s, {"need": hauling}),
            "unpermitted": (~valid & in_city, th.unpermitted_s, {"need": hauling}),
            "dumping": (~moving & ~in_site, th.dumping_s, {"need": loaded}),
            "restricted": (zone >= 0, th.restricted_s, {}),
            "unsealed": (~self.sealed[vi] & loaded, th.unsealed_s, {"need": hauling}),
        }
        events: list[Event] = []
        for kind, (cond, min_s, kw) in conds.items():
            fired, closed = runs(self.states[kind], g, cond, min_s, **kw)
            for i, start, metres, peak in zip(fired.idx, fired.start, fired.metres, fired.peak):
                details = {"duration_s": round(float(t[i] - start)),
                           **self._details(kind, i, metres, peak, limit, zone, minute, permit)}
                pid = int(w.permit_ids[permit[i]]) if permit[i] >= 0 and kind in ("off_route", "out_of_hours") else None
                events.append(Event(kind, int(self.ids[vi[i]]), float(start), float(t[i]), float(lon[i]),
                                    float(lat[i]), False, pid, details))
            for v, start, end, metres, peak in zip(closed.vi, closed.start, closed.end, closed.metres, closed.peak):
                info: dict[str, Any] = {"duration_s": round(float(end - start)), "metres": round(float(metres))}
                if np.isfinite(peak):
                    info["peak_kmh"] = round(float(peak), 1)
                events.append(Event(kind, int(self.ids[v]), float(start), float(end), float("nan"), float("nan"),
                                    True, None, info))
        events += self._offline_gaps(vi, t, lon, lat, gap, first, moving)
        self.last_t[vi[last]], self.last_lon[vi[last]], self.last_lat[vi[last]] = t[last], lon[last], lat[last]
        self.last_moving[vi[last]] = moving[last]
        return sorted(events, key=lambda e: (e.at, e.closed))

    def _permits(self, vi: np.ndarray, x: np.ndarray, y: np.ndarray, minute: np.ndarray, day: np.ndarray,
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Per point: a permit valid that day, within its hours, inside its corridor (outer/inner), and which."""
        w, n = self.world, len(vi)
        valid, hours_ok = np.zeros(n, bool), np.zeros(n, bool)
        outer, inner = np.zeros(n, bool), np.zeros(n, bool)
        permit = np.full(n, -1)
        perm = self.perm[vi]
        for k in range(perm.shape[1]):
            p = perm[:, k]
            ok = p >= 0
            pc = np.where(ok, p, 0)
            if not ok.any() or len(w.permit_ids) == 0:
                continue
            ok &= (w.first_day[pc] <= day) & (day <= w.last_day[pc])
            idx = np.flatnonzero(ok)
            valid[idx] = True
            hours_ok[idx] |= in_windows(minute[idx], w.windows[pc[idx]])
            permit[idx] = np.where(permit[idx] < 0, pc[idx], permit[idx])
            hit = np.zeros(len(idx), bool)
            todo = ~(outer[idx] & inner[idx])
            hit[todo] = _contains(w.outer[pc[idx[todo]]], x[idx[todo]], y[idx[todo]])
            outer[idx] |= hit
            deep = idx[hit]
            inner[deep] |= _contains(w.inner[pc[deep]], x[deep], y[deep])
        return valid, hours_ok, outer, inner, permit

    def _details(self, kind: str, i: int, metres: float, peak: float, limit: np.ndarray, zone: np.ndarray,
                 minute: np.ndarray, permit: np.ndarray) -> dict[str, Any]:
        d: dict[str, Any] = {}
        if kind == "speeding":
            d = {"speed_kmh": round(float(peak), 1), "limit_kmh": float(limit[i])}
        elif kind == "off_route":
            d = {"metres": round(float(metres))}
        elif kind == "out_of_hours":
            m = int(minute[i])
            d = {"local_time": f"{m // 60:02d}:{m % 60:02d}", "hours": self.world.hours_text[permit[i]]}
        elif kind == "restricted":
            z = self.world.restricted[zone[i]][0]
            d = {"zone_id": z.id, "zone": z.name}
        return d

    def _offline_gaps(self, vi: np.ndarray, t: np.ndarray, lon: np.ndarray, lat: np.ndarray, gap: np.ndarray,
                      first: np.ndarray, moving: np.ndarray) -> list[Event]:
        """Offline while moving, seen when a terminal comes back: a long gap after a moving position."""
        prev_moving = np.where(first, self.last_moving[vi], np.r_[False, moving[:-1]])
        out = []
        for i in np.flatnonzero((gap > self.th.offline_s) & prev_moving):
            v = vi[i]
            start = float(t[i] - gap[i])
            if not self.offline_fired[v]:
                out.append(Event("offline", int(self.ids[v]), start, start + self.th.offline_s,
                                 float(self.last_lon[v] if first[i] else lon[i - 1]),
                                 float(self.last_lat[v] if first[i] else lat[i - 1]), False, None,
                                 {"gap_s": round(float(gap[i]))}))
            out.append(Event("offline", int(self.ids[v]), start, float(t[i]), float(lon[i]), float(lat[i]), True,
                             None, {"duration_s": round(float(gap[i]))}))
        self.offline_fired[np.unique(vi)] = False
        return out

    def sweep(self, now: float) -> list[Event]:
        """Offline while moving, seen by the clock: moving vehicles silent for longer than the limit."""
        silent = ~np.isnan(self.last_t) & self.last_moving & ~self.offline_fired & \
            (now - np.nan_to_num(self.last_t, nan=now) >= self.th.offline_s)
        out = []
        for v in np.flatnonzero(silent):
            self.offline_fired[v] = True
            out.append(Event("offline", int(self.ids[v]), float(self.last_t[v]),
                             float(self.last_t[v] + self.th.offline_s), float(self.last_lon[v]),
                             float(self.last_lat[v]), False, None, {"gap_s": round(float(now - self.last_t[v]))}))
        return out


def _contains(geoms: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    import shapely

    return shapely.contains_xy(geoms, x, y) if len(x) else np.zeros(0, bool)


def effective_status(status: str, appeal_due_at: datetime, now: datetime) -> str:
    """A violation still open when its appeal window has passed stands: it counts as upheld."""
    return "upheld" if status == "open" and appeal_due_at < now else status


def permit_status(status: str, valid_to: date, today: date) -> str:
    """An approved permit past its last day has expired."""
    return "expired" if status == "approved" and valid_to < today else status


def score(points: int) -> int:
    """A company's score out of 100 after the points of its upheld violations."""
    return max(0, 100 - points)
