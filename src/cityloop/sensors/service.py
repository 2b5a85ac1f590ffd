"""Sensors use cases: the process's ingestor, telemetry replies, and the timed jobs (offline check, rollups,
retention) that message-driven rules cannot do themselves."""

from __future__ import annotations

import threading
import time
from datetime import datetime
from typing import Any

from sqlalchemy import select

from cityloop.sensors import domain, store
from cityloop.sensors.models import Alarm, Device
from cityloop.sensors.alarms import Notice
from cityloop.sensors.notify import Outbox
from cityloop.sensors.pipeline import Ingestor, Result
from cityloop.sensors.readings import REASONS
from cityloop.sla.service import calendar
from cityloop.sensors.schemas import RejectOut, TelemetryOut, TransitionOut
from cityloop.state import AppState

_lock = threading.Lock()


def get_ingestor(state: AppState) -> Ingestor:
    """This app's ingestor (one per worker), built on first use; notices go to state.sensor_notifier."""
    ingestor = state.sensor_ingestor
    if ingestor is None:
        with _lock:
            ingestor = state.sensor_ingestor
            if ingestor is None:
                if state.sensor_notifier is None:
                    state.sensor_notifier = Outbox(state.settings, factory=state.session_factory)
                ingestor = Ingestor(state.session_factory, state.settings, state.clock, state.sensor_notifier)
                state.sensor_ingestor = ingestor
    return ingestor


def live_values(state: AppState) -> dict[int, list[Any]] | None:
    """This worker's latest readings not yet persisted (device id -> [epoch s, values]), if it ingests."""
    ingestor = state.sensor_ingestor
    return dict(ingestor.latest) if ingestor is not None else None


def reply(result: Result, english: bool = False) -> TelemetryOut:
    """The telemetry endpoint's answer: counts, each refused reading with its reason, alarm transitions."""
    rejected = [RejectOut(index=i, device_id=r.device, reason=r.reason,
                          message=REASONS[r.reason][1 if english else 0], detail=r.detail)
                for i, r in sorted(result.rejected, key=lambda x: x[0])]
    alarms = [TransitionOut(device_id=o.device, rule=o.rule, kind=o.kind, level=o.level, alarm_id=o.alarm_id,
                            case_id=o.case_id) for o in result.outcomes if o.kind != "noop"]
    return TelemetryOut(accepted=result.accepted, stored=result.stored, rejected=rejected, alarms=alarms)


def sweep_offline(ingestor: Ingestor, now: datetime) -> int:
    """Raise an offline alarm for every active device silent longer than its offline rule allows."""
    ingestor.flush_state()
    notices: list[Notice] = []
    raised = 0
    with ingestor.lock, ingestor.factory() as session:
        ingestor._ensure_loaded(session)
        linker = ingestor.linker
        assert linker is not None  # made by the load
        linker.cal = calendar(session, ingestor.settings)
        already = set(session.scalars(select(Alarm.device_id).where(Alarm.rule_code == "offline",
                                                                    Alarm.is_open.is_(True))))
        rows = session.execute(select(Device.id, Device.last_seen_at, Device.created_at)
                               .where(Device.state == "active"))
        for device_id, last_seen, created in rows.all():
            meta = ingestor.metas.get(device_id)
            spec = next((s for s in meta.rules if s.kind == "offline"), None) if meta else None
            if meta is None or spec is None or device_id in already:
                continue
            seen = (last_seen or created).timestamp()
            if domain.offline_due(spec, seen, now.timestamp()):
                tr = domain.Transition("raise", spec.levels[0][0], round((now.timestamp() - seen) / 60), now.timestamp())
                linker.apply(session, meta, spec, tr, now, notices)
                raised += 1
        session.commit()
    ingestor.notify(notices)
    return raised


def run_jobs(ingestor: Ingestor, now: datetime, retention_due: bool = True) -> dict[str, int]:
    """One round of the timed jobs; returns what each did."""
    s = ingestor.settings
    out = {"offline": sweep_offline(ingestor, now)}
    now_ms = int(now.timestamp() * 1000)
    with ingestor.factory() as session:
        store.ensure_partitions(session, [now_ms, now_ms + 31 * 86_400_000])  # this month and the next
        out["rollups"] = store.rollup(session, now_ms)
        if retention_due:
            out["retention"] = store.retention(session, now_ms, s.sensor_retention_days,
                                               s.sensor_rollup_retention_days)
        session.commit()
    return out


class JobClock:
    """Remembers when retention last ran (hourly is plenty)."""

    def __init__(self) -> None:
        self.last = 0.0

    def retention_due(self) -> bool:
        now = time.monotonic()
        if now - self.last >= 3600:
            self.last = now
            return True
        return False
