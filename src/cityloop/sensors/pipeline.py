"""The ingestion pipeline: validate → rules (in memory) → bulk store → alarms, in batches, one per process.

Every transport ends here: HTTP and MQTT hand raw items or messages in; HJ 212 decodes its frames and calls
accept() with validated readings and the intervals stations report (minute, hour, day data: stored as rollups; a
minute's means also feed the rules when newer than the device's last reading). Rule state lives in memory and is
persisted every `sensor_state_flush_seconds`; only transitions touch the alarm and case tables."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from operator import attrgetter
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Executable, Table, bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from cityloop.config import Settings
from cityloop.sensors import devices as registry
from cityloop.sensors import domain, store
from cityloop.sensors.alarm_reads import open_alarms
from cityloop.sensors.alarms import Notice, Outcome
from cityloop.sensors.batch_link import BatchLinker
from cityloop.sensors.models import Alarm, Device, RuleState
from cityloop.sensors.readings import DeviceRef, Interval, Reading, Reject, check, check_of, parse_message
from cityloop.shared.clock import Clock

log = logging.getLogger("cityloop.sensors")
EMPTY = domain.State()
_BY_TS = attrgetter("ts")
RELOAD_SECONDS = 60.0  # registry changes made by other processes are seen within this time


@dataclass
class Result:
    """What one batch did."""

    accepted: int = 0
    stored: int = 0
    intervals: int = 0  # rollup rows written from station-reported intervals (HJ 212 minute, hour, day data)
    events: int = 0  # HJ 212 station uploads that are not data, kept as station events
    rejected: list[tuple[int, Reject]] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)


Transitions = list[tuple[registry.DeviceMeta, domain.RuleSpec, domain.Transition]]
Group = tuple[int, list[Any], str | None]  # index of the first item, raw items, the device their topic names


def state_to_json(st: domain.State) -> list[Any]:
    return list(st)  # JSON writes the (ts, value) tuples of hist as lists


def state_from_json(doc: list[Any]) -> domain.State:
    return domain.State(doc[0], doc[1], doc[2], doc[3], doc[4], tuple(tuple(p) for p in doc[5]))


class Ingestor:
    """Validates, evaluates and stores readings for one process; thread-safe (one batch at a time)."""

    def __init__(self, factory: sessionmaker[Session], settings: Settings, clock: Clock,
                 notify: Callable[[list[Notice]], None] | None = None) -> None:
        self.factory, self.settings, self.clock = factory, settings, clock
        self.notify: Callable[[list[Notice]], None] = notify or (lambda notices: None)
        self.lock = threading.RLock()
        self.refs: dict[str, DeviceRef] = {}
        self.metas: dict[int, registry.DeviceMeta] = {}
        self.states: dict[tuple[int, str], domain.State] = {}
        self.dirty: set[tuple[int, str]] = set()
        self.latest: dict[int, list[Any]] = {}  # device -> [newest ts, latest value of each metric]
        self.touched: set[int] = set()  # devices with new readings since the last persist
        self.loaded_at = 0.0
        self.state_flushed_at = time.monotonic()
        self.linker: BatchLinker | None = None
        self.tz = ZoneInfo(settings.timezone)
        self.counts: Counter[str] = Counter()
        self.latencies: deque[float] = deque(maxlen=200_000)  # commit time − reading time, s
        self.case_latencies: deque[float] = deque(maxlen=10_000)  # commit time − reading time of new cases, s

    # --- registry and state -------------------------------------------------------------------------------
    def invalidate(self) -> None:
        """Reload devices before the next batch (after a registry change in this process)."""
        self.loaded_at = 0.0

    def _load(self, session: Session, now: float) -> None:
        from cityloop.geo.queries import build_index, grid_version

        self.refs, self.metas = registry.load(session, self.settings)
        if self.linker is not None and self.linker.grids != grid_version(session):
            index = build_index(session)
            self.linker.locate, self.linker.grids = index.locate, index.version
        if self.linker is None:
            for device_id, seen, values in session.execute(select(Device.id, Device.last_seen_at,
                                                                  Device.last_values)):
                if seen is not None:
                    self.latest[device_id] = [seen.timestamp(), dict(values or {})]
            index = build_index(session)
            self.linker = BatchLinker(self.settings, None, index.locate)
            self.linker.grids = index.version
            for device_id, rule, doc in session.execute(select(RuleState.device_id, RuleState.rule_code,
                                                               RuleState.state)):
                self.states[(device_id, rule)] = state_from_json(doc)
        self.loaded_at = now

    def _ensure_loaded(self, session: Session, force: bool = False) -> None:
        now = time.monotonic()
        if force or not self.loaded_at or now - self.loaded_at > RELOAD_SECONDS:
            self._load(session, now)

    # --- entry points -------------------------------------------------------------------------------------
    def ingest_items(self, items: list[Any], topic_device: str | None = None) -> Result:
        """Raw readings {"device_id", "ts", "values"} (HTTP): validate each, then accept the good ones."""
        return self._ingest([(0, items, topic_device)], [])

    def ingest_messages(self, messages: Sequence[tuple[str, bytes | bytearray]]) -> Result:
        """MQTT messages (topic, payload): parse, validate, accept; a bad message is counted, never raised."""
        groups: list[Group] = []
        early: list[tuple[int, Reject]] = []
        n = 0
        s = self.settings
        for topic, payload in messages:
            code, items, reject = parse_message(topic, payload, s.sensor_tenant, s.sensor_max_batch)
            if reject is not None:
                early.append((n, reject))
                continue
            groups.append((n, items, code))
            n += len(items)
        return self._ingest(groups, early)

    def _ingest(self, groups: list[Group], rejected: list[tuple[int, Reject]]) -> Result:
        """Validate groups (index of the first item, raw items, the device their topic names) and accept."""
        s = self.settings
        now = self.clock.now().timestamp()
        max_future, max_age = s.sensor_max_future_s, s.sensor_retention_days * 86400.0
        with self.lock:
            with self.factory() as session:
                self._ensure_loaded(session)
            good: list[Reading] = []
            unknown: list[tuple[int, Any, str | None]] = []
            refs = self.refs
            for start, items, topic_device in groups:
                device = refs.get(topic_device) if topic_device is not None else None
                known = device if device is not None and device.active else None  # looked up once per message
                for index, item in enumerate(items, start):
                    if known is not None and type(item) is dict and "device_id" not in item:
                        got = check_of(item, known, now, max_future, max_age)
                    else:
                        got = check(item, refs, now, max_future, max_age, topic_device)
                    if type(got) is Reading:
                        good.append(got)
                    elif got.reason == "unknown-device" and time.monotonic() - self.loaded_at > 5:
                        unknown.append((index, item, topic_device))
                    else:
                        rejected.append((index, got))
            if unknown:  # maybe registered since the last load
                with self.factory() as session:
                    self._ensure_loaded(session, force=True)
                for index, item, topic_device in unknown:
                    got = check(item, self.refs, now, s.sensor_max_future_s, s.sensor_retention_days * 86400.0,
                                topic_device)
                    (good.append(got) if isinstance(got, Reading) else rejected.append((index, got)))
            return self._accept(good, rejected)

    def count_rejects(self, rejects: list[Reject]) -> None:
        """Count refusals made before any reading could be read (bad JSON, oversized body)."""
        self._ingest([], [(0, r) for r in rejects])

    def devices(self, refresh: bool = False) -> dict[str, DeviceRef]:
        """The registry as validation sees it, by device code (refresh: reload unless loaded in the last 5 s)."""
        with self.lock:
            age = time.monotonic() - self.loaded_at
            if not self.loaded_at or age > RELOAD_SECONDS or (refresh and age > 5):
                with self.factory() as session:
                    self._ensure_loaded(session, force=True)
            return self.refs

    def accept(self, readings: list[Reading], rejected: list[tuple[int, Reject]] | None = None,
               intervals: Sequence[Interval] = (), counts: dict[str, int] | None = None) -> Result:
        """Evaluate rules on, store and link validated readings (and store station-reported intervals, adding
        `counts` to the counters in the same transaction): the entry for any other transport."""
        with self.lock:
            if not self.loaded_at:
                with self.factory() as session:
                    self._ensure_loaded(session)
            return self._accept(readings, rejected or [], intervals, counts)

    # --- the batch ----------------------------------------------------------------------------------------
    def _local(self, ts: float, offset: float, cache: dict[int, tuple[str, int, int]]) -> tuple[str, int, int]:
        minute = int((ts + offset) // 60)
        hit = cache.get(minute)
        if hit is None:
            t = time.gmtime(minute * 60)
            hit = cache[minute] = (f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}", t.tm_wday,
                                   t.tm_hour * 60 + t.tm_min)
        return hit

    def _evaluate(self, readings: list[Reading], rejected: list[tuple[int, Reject]],
                  keep: bool = True) -> tuple[list[tuple[Any, ...]], Transitions]:
        """Rules over the batch in time order: the rows to store (none unless keep) and the transitions to apply.
        A reading not newer than its device's last one is stored but not evaluated (late or re-sent)."""
        delta = self.tz.utcoffset(datetime.now(timezone.utc))
        assert delta is not None  # a ZoneInfo always has an offset
        offset = delta.total_seconds()
        states, dirty, latest, touched, metas = self.states, self.dirty, self.latest, self.touched, self.metas
        rows: list[tuple[Any, ...]] = []
        transitions: Transitions = []
        seen: set[tuple[int, int]] = set()
        local_cache: dict[int, tuple[str, int, int]] = {}
        evaluate, is_quiet = domain.evaluate, domain.is_quiet
        readings.sort(key=_BY_TS)
        for device_id, code, ts, v, flags in readings:
            if keep:
                ms = int(round(ts * 1000))
                if (device_id, ms) in seen:
                    rejected.append((-1, Reject("duplicate", code)))
                    continue
                seen.add((device_id, ms))
                get = v.get
                is_open = get("open")
                rows.append((device_id, ms, get("depth_cm"), get("tilt_deg"),
                             None if is_open is None else int(is_open), get("battery_pct"), get("pm25"), get("pm10"),
                             get("leq_db"), get("rain_mm_h"), get("tsp"), get("temp_c"), get("humidity_pct"),
                             get("wind_ms"), get("wind_dir_deg"), json.dumps(flags) if flags else None))
            last = latest.get(device_id)
            if last is None:
                latest[device_id] = [ts, dict(v)]
            elif ts > last[0]:
                last[0] = ts
                last[1].update(v)
            else:
                continue
            touched.add(device_id)
            meta = metas[device_id]
            local = self._local(ts, offset, local_cache) if meta.scheduled else None
            by_metric = meta.by_metric
            for metric, value in v.items():
                for spec, low, high in by_metric.get(metric, ()):
                    key = (device_id, spec.code)
                    st = states.get(key, EMPTY)
                    if low <= value < high and (st is EMPTY or is_quiet(st)):
                        continue  # evaluate() would return st unchanged and no transition
                    new, tr = evaluate(spec, st, ts, value, local)
                    if new is not st:
                        states[key] = new
                        dirty.add(key)
                    if tr is not None:
                        transitions.append((meta, spec, tr))
        return rows, transitions

    def _accept(self, readings: list[Reading], rejected: list[tuple[int, Reject]], intervals: Sequence[Interval] = (),
                counts: dict[str, int] | None = None) -> Result:
        rows, transitions = self._evaluate(readings, rejected)
        if intervals:  # a minute's means are a reading for the rules (not stored: the interval is)
            means = [Reading(i.device_id, i.code, i.ts, {k: v[0] for k, v in i.values.items()})
                     for i in intervals if i.step_s == 60 and i.values]
            transitions += self._evaluate(means, rejected, keep=False)[1]
        result = Result(accepted=len(rows), rejected=rejected)
        notices: list[Notice] = []
        now_dt = self.clock.now()
        with self.factory() as session:
            result.stored = store.insert_readings(session, rows)
            result.intervals = store.upsert_intervals(session, intervals) if intervals else 0
            if transitions:
                result.outcomes = self._link(session, transitions, now_dt, notices)
            deltas = Counter({"accepted": len(rows), "stored": result.stored, "intervals": result.intervals})
            deltas.update(counts or {})
            deltas["rejected:duplicate"] += len(rows) - result.stored
            for _, reject in rejected:
                deltas[f"rejected:{reject.reason}"] += 1
            store.add_counters(session, deltas)
            session.commit()
        done = time.time()
        self.counts.update(deltas)
        self.latencies.extend(done - row[1] / 1000 for row in rows)
        for outcome, (_, _, tr) in zip(result.outcomes, transitions):
            if outcome.case_opened:
                self.case_latencies.append(done - tr.ts)
        if notices:
            self.notify(notices)
        if time.monotonic() - self.state_flushed_at >= self.settings.sensor_state_flush_seconds:
            self.flush_state()
        return result

    def _link(self, session: Session, transitions: Transitions, now: datetime, notices: list[Notice]) -> list[Outcome]:
        from cityloop.sla.service import calendar

        linker = self.linker
        assert linker is not None  # made by the load every batch starts with
        linker.cal = calendar(session, self.settings)
        mark = len(notices)
        try:  # the common case: one query for the open alarms, one savepoint for the batch
            with session.begin_nested():
                known = open_alarms(session, {(meta.id, spec.code) for meta, spec, _ in transitions})
                return linker.apply_batch(session, transitions, now, notices, known)
        except IntegrityError:  # another worker opened one of these alarms meanwhile: one transition at a time
            del notices[mark:]
        out = []
        for meta, spec, tr in transitions:
            for attempt in (1, 2):
                try:
                    with session.begin_nested():
                        out.append(linker.apply(session, meta, spec, tr, now, notices))
                    break
                except IntegrityError:  # another worker opened the same alarm a moment ago: apply to it
                    if attempt == 2:
                        log.warning("alarm %s/%s lost a race twice", meta.code, spec.code)
                        out.append(Outcome(meta.code, spec.code, "error", tr.level, 0))
        return out

    def flush_state(self) -> None:
        """Persist changed rule state and the devices' latest values; clear offline alarms of devices seen."""
        with self.lock:
            dirty, touched = self.dirty, self.touched
            self.dirty, self.touched, self.state_flushed_at = set(), set(), time.monotonic()
            if dirty or touched:
                self._persist(dirty, {d: self.latest[d] for d in touched})

    def _persist(self, dirty: set[tuple[int, str]], latest: dict[int, list[Any]]) -> None:
        with self.factory() as session:
            if dirty:
                _upsert_states(session, [{"device_id": d, "rule_code": r, "state": state_to_json(self.states[(d, r)])}
                                         for d, r in dirty])
            if latest:
                table = cast(Table, Device.__table__)
                session.execute(update(table).where(table.c.id == bindparam("b_id")).values(
                    last_seen_at=bindparam("b_seen"), last_values=bindparam("b_values")), [
                    {"b_id": d, "b_seen": datetime.fromtimestamp(ts, timezone.utc), "b_values": dict(values)}
                    for d, (ts, values) in latest.items()])
                self._clear_offline(session, set(latest))
            session.commit()

    def _clear_offline(self, session: Session, seen: set[int]) -> None:
        open_ids = set(session.scalars(select(Alarm.device_id).where(Alarm.rule_code == "offline",
                                                                     Alarm.is_open.is_(True))))
        back = open_ids & seen
        if not back:
            return
        notices: list[Notice] = []
        now, now_s = self.clock.now(), self.clock.now().timestamp()
        for device_id in back:
            meta = self.metas.get(device_id)
            spec = next((s for s in meta.rules if s.kind == "offline"), None) if meta else None
            if meta is not None and spec is not None:
                assert self.linker is not None  # loaded before any reading was taken
                self.linker.apply(session, meta, spec, domain.Transition("clear", "blue", 0.0, now_s), now, notices)
        self.notify(notices)


def _upsert_states(session: Session, rows: list[dict[str, Any]]) -> None:
    upsert: Executable
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        pg = pg_insert(RuleState)
        upsert = pg.on_conflict_do_update(index_elements=["device_id", "rule_code"], set_={"state": pg.excluded.state})
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        lite = sqlite_insert(RuleState)
        upsert = lite.on_conflict_do_update(index_elements=["device_id", "rule_code"],
                                            set_={"state": lite.excluded.state})
    session.execute(upsert, rows)
