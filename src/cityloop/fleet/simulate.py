"""Simulated muck trucks: each drives its permit route (or, without a permit, a road route between two sites)
back and forth, loaded out and empty back, and misbehaves as its behaviour says — speeding, leaving the route,
cutting through the old town, dumping on the way, going silent while moving. Out-of-hours and unpermitted trucks
need no special driving: their permits (or lack of one) make them so."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import shapely
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.fleet import jt808, roads
from cityloop.fleet.domain import Fix, Thresholds
from cityloop.fleet.models import Permit, PermitVehicle, Site, Vehicle
from cityloop.fleet.world import World, WorldSpec, in_windows, parse_hours

# Shares of the permitted trucks that misbehave on the road (the rest drive by the rules).
SHARES = {"speeder": 0.10, "route_leaver": 0.07, "shortcut": 0.05, "dumper": 0.04, "offline": 0.03}
DWELL_S, DUMP_S, SILENT_S = 600.0, 12 * 60.0, 7 * 60.0  # loading/unloading takes ten minutes
LimitOf = Callable[[np.ndarray, np.ndarray], np.ndarray]  # the speed limit at arrays of lon, lat


@dataclass
class Plan:
    vehicle_id: int
    phone: str
    plate: str
    behaviour: str
    path: list[tuple[float, float]]


@dataclass
class Report:
    vehicle_id: int
    phone: str
    t: float
    lon: float
    lat: float
    speed: float
    heading: int
    load: int

    def fix(self) -> Fix:
        """As a pipeline fix tuple."""
        return (self.vehicle_id, self.t, self.lon, self.lat, self.speed, self.heading, 0,
                jt808.STATUS_ACC | jt808.STATUS_FIXED | (self.load << 8), 0)

    def location(self) -> jt808.Location:
        """As a JT/T 808 0x0200 body."""
        when = datetime.fromtimestamp(self.t, jt808.BEIJING)
        return jt808.Location.make(self.lon, self.lat, self.speed, self.heading, when, load=self.load)


def behaviour_of(vehicle_id: int, seed: int = 0) -> str:
    """A permitted truck's driving behaviour, stable per vehicle."""
    u, acc = random.Random(vehicle_id * 7919 + seed).random(), 0.0
    for name, share in SHARES.items():
        acc += share
        if u < acc:
            return name
    return "compliant"


class Truck:
    """One truck's motion along its path; at(t) says where it is (None while its terminal is silent)."""

    def __init__(self, plan: Plan, limit_of: LimitOf, rng: random.Random, t0: float) -> None:
        self.plan, self.rng = plan, rng
        path = np.array(plan.path, float)
        self.lon0, self.lat0 = path[0]
        self.kx, self.ky = 111_320.0 * math.cos(math.radians(self.lat0)), 110_574.0
        self.xy = np.column_stack([(path[:, 0] - self.lon0) * self.kx, (path[:, 1] - self.lat0) * self.ky])
        seg = np.hypot(*np.diff(self.xy, axis=0).T)
        self.cum = np.r_[0.0, np.cumsum(seg)]
        mids = (path[1:] + path[:-1]) / 2
        self.limits = limit_of(mids[:, 0], mids[:, 1])
        self.length = float(self.cum[-1])
        self.s = rng.uniform(0, self.length * 0.5)
        self.out, self.dwell_until, self.t = True, 0.0, t0
        self.factor = rng.uniform(0.75, 0.9)
        self.dumped = self.silenced = False
        self.stop_until = self.silent_until = 0.0

    def _point(self, s: float) -> tuple[np.ndarray, np.ndarray]:
        i = int(np.clip(np.searchsorted(self.cum, s, side="right") - 1, 0, len(self.cum) - 2))
        a, b = self.xy[i], self.xy[i + 1]
        d = b - a
        frac = 0.0 if self.cum[i + 1] == self.cum[i] else (s - self.cum[i]) / (self.cum[i + 1] - self.cum[i])
        return a + d * frac, d / (np.hypot(*d) or 1.0)

    def at(self, t: float) -> Report | None:
        """Advance to time t and report."""
        dt, self.t = max(t - self.t, 0.0), t
        b, frac = self.plan.behaviour, self.s / (self.length or 1.0)
        speed = 0.0
        if t < self.dwell_until or t < self.stop_until:
            pass
        else:
            i = int(np.clip(np.searchsorted(self.cum, self.s, side="right") - 1, 0, len(self.limits) - 1))
            factor = 1.5 if b == "speeder" and self.out and 0.2 < frac < 0.8 else self.factor
            speed = float(self.limits[i]) * factor
            if b == "dumper" and self.out and not self.dumped and frac >= 0.5:
                self.dumped, self.stop_until, speed = True, t + DUMP_S, 0.0
            if b == "offline" and self.out and not self.silenced and frac >= 0.4:
                self.silenced, self.silent_until = True, t + SILENT_S
            self.s += speed / 3.6 * dt * (1 if self.out else -1)
            if not 0 <= self.s <= self.length:  # arrived: unload or load, turn round
                self.s = min(max(self.s, 0.0), self.length)
                self.out, self.dwell_until = not self.out, t + DWELL_S
                self.dumped = self.silenced = False
                speed = 0.0
        xy, direction = self._point(self.s)
        frac = self.s / (self.length or 1.0)
        if b == "route_leaver" and self.out and 0.35 < frac < 0.65:
            xy = xy + np.array([-direction[1], direction[0]]) * 450 * math.sin(math.pi * (frac - 0.35) / 0.3)
        if t < self.silent_until:
            return None
        ahead = direction if self.out else -direction
        heading = int(math.degrees(math.atan2(ahead[0], ahead[1]))) % 360
        load = jt808.LOAD_FULL if self.out and not (b == "dumper" and self.dumped and t >= self.stop_until) else 0
        speed += self.rng.uniform(-1, 1) if speed else 0.0
        return Report(self.plan.vehicle_id, self.plan.phone, t, round(self.lon0 + xy[0] / self.kx, 6),
                      round(self.lat0 + xy[1] / self.ky, 6), round(speed, 1), heading, load)


class Fleet:
    """Trucks of many plans, sharing the world's speed limits."""

    def __init__(self, plans: list[Plan], world: World, t0: float, seed: int = 0) -> None:
        rng = random.Random(seed)
        th = Thresholds()
        limit_of: LimitOf = lambda lon, lat: world.speed_limit(*world.project(lon, lat), th.default_speed_kmh)  # noqa: E731
        self.trucks = [Truck(p, limit_of, random.Random(rng.random()), t0) for p in plans]

    def reports(self, t: float) -> list[Report]:
        """Every truck's report at time t (silent terminals send nothing)."""
        return [r for r in (truck.at(t) for truck in self.trucks) if r is not None]


def _centre(site: Site) -> tuple[float, float]:
    c = shapely.from_geojson(site.geometry).centroid
    return round(c.x, 6), round(c.y, 6)


def plans_from_db(session: Session, world_spec: WorldSpec, now: datetime, seed: int = 0,
                  limit: int | None = None) -> list[Plan]:
    """A plan for every active vehicle: its valid permit's route (out-of-hours if the permit's hours exclude now),
    or, without a permit, a road route between two sites."""
    local = now.astimezone(jt808.BEIJING)
    minute, today = local.hour * 60 + local.minute, local.date()
    vehicles = list(session.scalars(select(Vehicle).where(Vehicle.active.is_(True)).order_by(Vehicle.id).limit(limit)))
    permits: dict[int, Permit] = {}
    for valid, vid in session.execute(select(Permit, PermitVehicle.vehicle_id)
                                       .join(PermitVehicle, PermitVehicle.permit_id == Permit.id)
                                       .where(Permit.status == "approved", Permit.valid_from <= today,
                                              Permit.valid_to >= today).order_by(Permit.id)):
        permits.setdefault(vid, valid)
    sites = list(session.scalars(select(Site).where(Site.active.is_(True)).order_by(Site.id)))
    origins = [s for s in sites if s.kind == "construction"] or sites
    targets = [s for s in sites if s.kind == "disposal"] or sites
    router, shortcut = roads.Router(), roads.Router(avoid=False)
    rng = random.Random(seed)
    plans: list[Plan] = []
    for v in vehicles:
        permit = permits.get(v.id)
        if permit is None:
            a, b = rng.choice(origins), rng.choice(targets)
            path, kind = router.path(_centre(a), _centre(b)), "unpermitted"
        else:
            path = [(x, y) for x, y in shapely.get_coordinates(shapely.from_geojson(permit.route))]
            windows = np.array([parse_hours(permit.hours or []) or ((0, 0),)])
            kind = behaviour_of(v.id, seed)
            if not in_windows(np.array([minute]), windows)[0]:
                kind = "night"
            elif kind == "shortcut":
                path = shortcut.path(path[0], path[-1])
        plans.append(Plan(v.id, v.terminal_phone.rjust(12, "0"), v.plate, kind, path))
    return plans
