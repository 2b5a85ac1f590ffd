"""The position pipeline of one process: the rule engine with its per-vehicle state, the world it checks against
(reloaded when the fleet version or the grids change), and a writer thread that stores what the gateway hands
over in batches — store, evaluate, record violations, commit once per batch.

The HTTP and MQTT ingest paths call ingest() directly; the gateway calls submit(). A lock keeps one batch at a
time in the engine, so every vehicle's positions are evaluated in order."""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import shapely
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from cityloop.fleet import access, positions, violations
from cityloop.fleet.domain import FLAG_BACKFILL, FLAG_WGS84, Batch, Fix, RuleEngine, Thresholds, columns
from cityloop.fleet.gateway import Terminal, issue_auth_code
from cityloop.fleet.models import Permit, PermitVehicle, Site, Vehicle, Zone
from cityloop.fleet.schemas import PositionIn
from cityloop.fleet.world import PermitSpec, SiteSpec, VehicleSpec, World, WorldSpec, ZoneSpec, parse_hours
from cityloop.geo.coords import to_wgs84_np
from cityloop.geo.domain import Locate
from cityloop.geo.models import UnitGrid
from cityloop.geo.queries import get_index, grid_version
from cityloop.shared.lookup_gate import LookupGate
from cityloop.state import AppState

log = logging.getLogger("cityloop.fleet")
FUTURE_SECONDS = 600  # positions further ahead than this are clock errors
RETENTION_EVERY_S = 6 * 3600
# The writer thread writes at most this often: a vehicle reporting every few hundred ms then costs one row
# update and the batch one commit and one rule pass per second instead of per gateway flush.
WRITE_EVERY_S = 1.0
LOOKUP_AGAIN_SECONDS = 1.0  # an unknown terminal is looked up in the database at most this often …
LOOKUPS_PER_SECOND = 50  # … and at most this many unknown terminals a second (random phones cannot flood it)


def load_world(session: Session, city: shapely.Geometry | None) -> WorldSpec:
    """Everything the rules check against, from the database."""
    shape: Callable[[str], shapely.Geometry] = shapely.from_geojson
    vehicles = [VehicleSpec(v.id, v.sealed, v.load_sensor)
                for v in session.scalars(select(Vehicle).where(Vehicle.active.is_(True)))]
    zones = [ZoneSpec(z.id, z.kind, z.name, shape(z.geometry), z.speed_limit, z.width_m, parse_hours(z.hours or []))
             for z in session.scalars(select(Zone).where(Zone.active.is_(True)))]
    sites = [SiteSpec(s.id, s.kind, s.name, shape(s.geometry))
             for s in session.scalars(select(Site).where(Site.active.is_(True)))]
    members: dict[int, list[int]] = {}
    for pid, vid in session.execute(select(PermitVehicle.permit_id, PermitVehicle.vehicle_id)):
        members.setdefault(pid, []).append(vid)
    permits = [PermitSpec(p.id, tuple(members.get(p.id, ())), shape(p.route), p.corridor_m, p.valid_from, p.valid_to,
                          parse_hours(p.hours or []))
               for p in session.scalars(select(Permit).where(Permit.status == "approved"))]
    return WorldSpec(vehicles, zones, sites, permits, city)


def city_area(session: Session) -> shapely.Geometry | None:
    """The area under digital city management (the union of the unit grids), where unpermitted hauling counts."""
    geoms = [shapely.from_geojson(g) for g in session.scalars(select(UnitGrid.geometry))]
    return shapely.union_all(shapely.buffer(np.array(geoms, dtype=object), 1e-6)) if geoms else None


class Pipeline:
    """Per process; `state` carries settings, session factories and the clock (the app's state, or the CLI's)."""

    def __init__(self, state: AppState) -> None:
        self.state, self.settings = state, state.settings
        self.lock = threading.RLock()
        self.engine: RuleEngine | None = None
        self.versions: tuple[int, int] | None = None
        self.city: shapely.Geometry | None = None
        self.terminals: dict[str, Terminal] = {}
        self.coord_sys: dict[int, str] = {}
        self._coord_codes = np.zeros(1, np.int8)
        self.stats: Counter[str] = Counter()
        self._queue: queue.SimpleQueue[list[Fix] | None] = queue.SimpleQueue()  # None: stop
        self.gate = LookupGate(LOOKUP_AGAIN_SECONDS, LOOKUPS_PER_SECOND)
        self._thread: threading.Thread | None = None

    def refresh(self, session: Session) -> RuleEngine:
        """Reload the world when vehicles, sites, zones, permits or grids changed; the rule engine."""
        versions = (access.version(session), grid_version(session))
        if versions == self.versions and self.engine is not None:  # the engine is made before versions are set
            return self.engine
        if self.versions is None or versions[1] != self.versions[1]:
            self.city = city_area(session)
        world = World(load_world(session, self.city))
        engine = self.engine
        if engine is None:
            offset = ZoneInfo(self.settings.timezone).utcoffset(datetime(2026, 1, 1))
            assert offset is not None  # a zone always has an offset for a naive time
            engine = self.engine = RuleEngine(world, Thresholds.from_settings(self.settings),
                                              int(offset.total_seconds()))
        else:
            engine.set_world(world)
        secret = self.settings.secret_key
        rows = session.execute(select(Vehicle.id, Vehicle.plate, Vehicle.terminal_phone, Vehicle.coord_sys)
                               .where(Vehicle.active.is_(True))).all()
        self.terminals = {phone: Terminal(vid, plate, issue_auth_code(secret, phone)) for vid, plate, phone, _ in rows}
        self.gate.clear()
        self.coord_sys = {vid: cs for vid, _, _, cs in rows}
        self._coord_codes = np.zeros(max(self.coord_sys, default=0) + 2, np.int8)
        for vid, cs in self.coord_sys.items():
            self._coord_codes[vid] = 2 if cs == "gcj02" else 1
        self.versions = versions
        return engine

    def locate(self) -> Locate:
        """The grid index's locate (a fixed one when the state brings it, as the demo build does)."""
        return self.state.fleet_locate or get_index(self.state).locate

    def directory(self, terminal_key: str) -> Terminal | None:
        """The gateway's lookup of registered terminals: the loaded registry, else the database at once, so a truck
        registered a moment ago (through the API of this process or another) is accepted without waiting for the
        next reload; misses are remembered for a second and rate-limited."""
        found = self.terminals.get(terminal_key)
        if found is not None:
            return found
        verdict = self.gate.ask(terminal_key)
        if verdict != "look":
            if verdict == "limited":
                self.stats["lookups_skipped"] += 1
            return None
        self.stats["lookups"] += 1
        try:
            with self.state.read_session_factory() as session:
                row = session.execute(select(Vehicle.id, Vehicle.plate).where(
                    Vehicle.terminal_phone == terminal_key, Vehicle.active.is_(True))).first()
        except Exception:  # noqa: BLE001 - the database being away must not cost the gateway: refuse, log
            log.exception("terminal lookup failed")
            return None
        if row is None:
            return None
        found = Terminal(row[0], row[1], issue_auth_code(self.settings.secret_key, terminal_key))
        self.terminals = {**self.terminals, terminal_key: found}
        return found

    def ingest(self, session: Session, fixes: list[Fix], now: datetime) -> tuple[int, int, list[int]]:
        """Store and evaluate fix tuples (vehicle_id, t, lon, lat, speed, heading, alarm, status, flags) in one
        transaction; returns (stored, unknown or out of time, new violation ids)."""
        from cityloop.sla.service import calendar

        with self.lock:
            engine = self.refresh(session)
            cols = columns(fixes)
            b = Batch.of_columns(cols)
            rows = self._rows(cols, b, now)
            # In key order (a stable sort: repeats keep their order), so the index inserts walk the B-tree once.
            order = np.lexsort((rows["t"], rows["vehicle_id"]))
            rows = {k: v if k == "keep" else v[order] for k, v in rows.items()}
            stored = positions.store(session, rows)
            self._latest(session, rows)
            batch = Batch(rows["vehicle_id"], rows["t"].astype(float), rows["lon"], rows["lat"], rows["speed"],
                          rows["status"], rows["flags"])
            events = engine.evaluate(batch)
            made = violations.record(session, self.settings, events, now, calendar(session, self.settings),
                                     self.locate()) if events else []
            session.commit()
        self.stats["stored"] += stored
        self.stats["violations"] += len(made)
        return stored, len(fixes) - stored, [v.id for v in made]

    def _rows(self, cols: list[tuple[Any, ...]], b: Batch, now: datetime) -> dict[str, np.ndarray]:
        """Known vehicles' positions within the retention window, converted to WGS84."""
        now_s = now.timestamp()
        code = self._coord_codes[np.clip(b.vehicle_id, 0, len(self._coord_codes) - 1)]  # 0 unknown, 1 WGS84, 2 GCJ
        keep = (code > 0) & (b.t <= now_s + FUTURE_SECONDS)
        keep &= b.t > now_s - self.settings.fleet_position_retention_days * 86400
        lon, lat = b.lon.copy(), b.lat.copy()
        gcj = keep & (code == 2) & (b.flags & FLAG_WGS84 == 0)
        if gcj.any():
            lon[gcj], lat[gcj] = to_wgs84_np(lon[gcj], lat[gcj], "gcj02")
        heading, alarm = np.array(cols[5], np.int64), np.array(cols[6], np.int64)
        return {"keep": keep, "vehicle_id": b.vehicle_id[keep], "t": np.floor(b.t[keep]).astype(np.int64),
                "lon": lon[keep], "lat": lat[keep], "speed": b.speed[keep], "heading": heading[keep],
                "alarm": alarm[keep], "status": b.status[keep], "flags": b.flags[keep]}

    @staticmethod
    def _latest(session: Session, rows: dict[str, np.ndarray]) -> None:
        """Each vehicle's newest position on its row (the live map reads it): one statement per batch."""
        if len(rows["t"]) == 0:
            return
        order = np.lexsort((rows["t"], rows["vehicle_id"]))
        v = rows["vehicle_id"][order]
        last = order[np.r_[v[1:] != v[:-1], True]]
        cols = [rows[c][last].tolist() for c in ("vehicle_id", "t", "lon", "lat", "speed")]
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text(
                "UPDATE fleet_vehicles AS v "
                "SET last_at = u.t, last_lon = u.lon, last_lat = u.lat, last_speed = u.speed "
                "FROM unnest(CAST(:id AS integer[]), CAST(:t AS bigint[]), CAST(:lon AS float8[]), "
                "CAST(:lat AS float8[]), CAST(:speed AS float8[])) AS u(id, t, lon, lat, speed) "
                "WHERE v.id = u.id AND (v.last_at IS NULL OR v.last_at < u.t)"),
                dict(zip(("id", "t", "lon", "lat", "speed"), cols)))
        else:
            session.connection().exec_driver_sql(
                "UPDATE fleet_vehicles SET last_at = ?, last_lon = ?, last_lat = ?, last_speed = ? "
                "WHERE id = ? AND (last_at IS NULL OR last_at < ?)",
                [(t, x, y, s, i, t) for i, t, x, y, s in zip(*cols)])

    def sweep(self, session: Session, now: datetime) -> list[int]:
        """Time-driven rules (terminal offline while moving); records and commits what they find."""
        from cityloop.sla.service import calendar

        with self.lock:
            events = self.refresh(session).sweep(now.timestamp())
            made = violations.record(session, self.settings, events, now, calendar(session, self.settings),
                                     self.locate()) if events else []
            session.commit()
        return [v.id for v in made]

    # --- the writer thread behind the gateway ---------------------------------------------------------------------

    def submit(self, fixes: list[Fix]) -> None:
        """Queue fixes for the writer thread (returns at once)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="cityloop-fleet-writer", daemon=True)
            self._thread.start()
        self._queue.put(fixes)

    def stop(self) -> None:
        """Write what is queued, then end the writer thread."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=30)
            self._thread = None

    def retention(self, session: Session, now: datetime) -> int:
        """Drop positions older than the retention period (whole days on PostgreSQL)."""
        cutoff = now.timestamp() - self.settings.fleet_position_retention_days * 86400
        dropped = positions.drop_older_than(session, cutoff)
        session.commit()
        return dropped

    def _run(self, max_batch: int = 250_000) -> None:
        last_sweep, last_retention = time.monotonic(), float(-RETENTION_EVERY_S)
        last_write = float("-inf")
        while True:
            try:
                first = self._queue.get(timeout=1.0)
            except queue.Empty:
                first = []
            stop = first is None
            if first and not stop:  # let WRITE_EVERY_S of positions gather (the queue keeps them meanwhile)
                time.sleep(max(0.0, min(WRITE_EVERY_S, last_write + WRITE_EVERY_S - time.monotonic())))
                last_write = time.monotonic()
            batch = [] if first is None else list(first)
            while len(batch) < max_batch and not stop:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                stop = more is None
                batch += [] if more is None else more
            self._write(batch)
            if time.monotonic() - last_sweep >= 15:
                last_sweep = time.monotonic()
                self._guard(lambda s: self.sweep(s, self.state.clock.now()))
            if time.monotonic() - last_retention >= RETENTION_EVERY_S:
                last_retention = time.monotonic()
                self._guard(lambda s: self.retention(s, self.state.clock.now()))
            if stop:
                return

    def _write(self, batch: list[Fix]) -> None:
        if batch:
            self._guard(lambda s: self.ingest(s, batch, self.state.clock.now()))

    def _guard(self, work: Callable[[Session], object]) -> None:
        try:
            with self.state.session_factory() as session:
                work(session)
        except Exception:  # noqa: BLE001 - a failed batch is logged and dropped; the stream goes on
            self.stats["failed_batches"] += 1
            log.exception("fleet batch failed")


def get_pipeline(state: AppState) -> Pipeline:
    """This process's pipeline (created on first use)."""
    pipeline = state.fleet_pipeline
    if pipeline is None:
        pipeline = state.fleet_pipeline = Pipeline(state)
    return pipeline


def fixes_from_json(items: list[PositionIn], terminals: dict[str, Terminal], by_plate: dict[str, int],
                    ) -> tuple[list[Fix], int]:
    """Forwarded positions (schemas.PositionIn) as fix tuples; unknown vehicles are counted, not kept. A position
    that names its coordinate system is converted here; otherwise the vehicle's setting applies."""
    out: list[Fix] = []
    unknown = 0
    for p in items:
        vid = by_plate.get(p.plate) if p.plate else None
        if vid is None and p.phone:
            term = terminals.get(p.phone.lstrip("0") or "0")
            vid = term.vehicle_id if term else None
        if vid is None:
            unknown += 1
            continue
        lon, lat, flags = p.lon, p.lat, FLAG_BACKFILL if p.backfill else 0
        if p.coord_sys is not None:
            lon, lat = (float(c) for c in to_wgs84_np(p.lon, p.lat, p.coord_sys))
            flags |= FLAG_WGS84
        out.append((vid, p.time.timestamp(), lon, lat, float(p.speed), p.heading, 0, 3 | (p.load << 8), flags))
    return out, unknown


def json_positions(raw: bytes) -> list[Any]:
    """An MQTT payload: one position object, a list of them, or {"positions": [...]}."""
    doc = json.loads(raw)
    if isinstance(doc, dict) and "positions" in doc:
        doc = doc["positions"]
    return doc if isinstance(doc, list) else [doc]
