"""A batch's transitions applied together (one query for the open alarms, one savepoint) leave exactly what
applying them one at a time (the path taken when another worker races us) leaves: alarms, their events, cases,
rule states, counters and notices."""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from cityloop.cases.models import Case, CaseEvent
from cityloop.sensors import alarms, pipeline, store
from cityloop.sensors.models import Alarm, AlarmEvent, RuleState
from cityloop.sensors.pipeline import Ingestor
from tests.integration.sensors_kit import fake_notifier, sensor_settings, sensor_world  # noqa: F401

# Per device, one value dict a minute: within one batch, water_depth raises (case), escalates, clears and
# re-triggers onto the same case; the cover opens (case) and tilts (joins it); the rain gauge raises and escalates.
SERIES = {
    "WL-1": [{"depth_cm": d} for d in (30, 30, 45, 45, 1, 1, 1, 1, 1, 1, 1, 35, 35, 50)],
    "MC-1": [{"open": o, "tilt_deg": t} for o, t in ((False, 1), (True, 15), (True, 16), (True, 25), (False, 1))],
    "RG-1": [{"rain_mm_h": r} for r in (25, 25, 60, 60, 90, 90, 1)],
}


def _messages(settings, start: float) -> list[tuple[str, bytes]]:
    return [(f"cityloop/{settings.sensor_tenant}/devices/{code}/telemetry",
             json.dumps([{"ts": start + 60 * i, "values": v} for i, v in enumerate(series)]).encode())
            for code, series in SERIES.items()]


def _snapshot(session, ingestor: Ingestor, notices: list) -> dict:
    numbers = dict(session.execute(select(Case.id, Case.number)).all())
    alarms = session.scalars(select(Alarm).order_by(Alarm.id)).all()
    rank = {a.id: i for i, a in enumerate(alarms)}
    return {
        "alarms": [(a.device_id, a.rule_code, a.level, a.state, a.is_open, a.value, a.peak_value, a.raised_at,
                    a.cleared_at, numbers.get(a.case_id), rank.get(a.episode_id)) for a in alarms],
        "events": [(rank[e.alarm_id], e.kind, e.level, e.value, json.dumps({
            k: numbers.get(v) if k == "case_id" else v for k, v in (e.payload or {}).items()}, sort_keys=True))
            for e in session.scalars(select(AlarmEvent).order_by(AlarmEvent.id))],
        "cases": [(c.number, c.category_code, c.stage, c.urgent, c.department_id, c.description)
                  for c in session.scalars(select(Case).order_by(Case.number))],
        "case_events": [(numbers[e.case_id], e.seq, e.action, e.to_stage)
                        for e in session.scalars(select(CaseEvent).order_by(CaseEvent.case_id, CaseEvent.seq))],
        "states": {(d, r): s for d, r, s in session.execute(select(RuleState.device_id, RuleState.rule_code,
                                                                     RuleState.state))},
        "counters": store.counters(session),
        "notices": [(n.department, n.subject, n.text) for n in notices],
        "memory": dict(ingestor.states),
    }


def _run(connection, session_factory, settings, clock, batch: bool, monkeypatch) -> dict:
    savepoint = connection.begin_nested()
    notices: list = []
    ingestor = Ingestor(session_factory, settings, clock, notify=notices.extend)
    with monkeypatch.context() as patch:
        if batch:  # the batch path must not fall back to the one-at-a-time path (which queries each alarm)
            patch.setattr(alarms, "open_alarm", None)
        else:
            def race(*args, **kwargs):
                raise IntegrityError("SELECT", {}, Exception("another worker opened the alarm"))

            patch.setattr(pipeline, "open_alarms", race)
        result = ingestor.ingest_messages(_messages(settings, clock.now().timestamp() - 3600))
    ingestor.flush_state()
    with session_factory() as session:
        snap = _snapshot(session, ingestor, notices)
    snap["outcomes"] = [(o.device, o.rule, o.kind, o.level, o.case_opened) for o in result.outcomes]
    savepoint.rollback()
    return snap


def test_a_batch_links_like_one_transition_at_a_time(connection, session_factory, settings, clock, sensors,
                                                    monkeypatch):
    batched = _run(connection, session_factory, settings, clock, True, monkeypatch)
    single = _run(connection, session_factory, settings, clock, False, monkeypatch)
    kinds = [o[2] for o in batched["outcomes"]]
    assert {"raise", "escalate", "clear"} <= set(kinds) and sum(o[4] for o in batched["outcomes"]) == 2
    assert any(e[1] == "retrigger" for e in batched["events"])
    assert any(e[1] == "case" and '"joined": true' in e[4] for e in batched["events"])
    assert batched == single
