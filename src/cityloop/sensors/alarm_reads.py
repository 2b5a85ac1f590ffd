"""The alarm rows a transition needs to be applied (its open alarm, the episode a re-trigger joins, a sibling
alarm's open case), each read for a whole batch of (device, rule) pairs in one query."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from cityloop.cases.api import TERMINAL, Case
from cityloop.config import Settings
from cityloop.sensors import domain
from cityloop.sensors.devices import DeviceMeta
from cityloop.sensors.models import Alarm


def open_alarm(session: Session, device_id: int, rule: str) -> Alarm | None:
    """The open alarm of this device and rule, locked (one transition applied alone)."""
    return session.scalar(select(Alarm).where(Alarm.device_id == device_id, Alarm.rule_code == rule,
                                              Alarm.is_open.is_(True)).with_for_update())


OpenAlarms = dict[tuple[int, str], Alarm]  # (device id, rule code) -> its open alarm


def open_alarms(session: Session, keys: set[tuple[int, str]]) -> OpenAlarms:
    """The open alarms of these (device, rule) pairs, locked, in one query (a batch's transitions)."""
    found = session.scalars(select(Alarm).where(tuple_(Alarm.device_id, Alarm.rule_code).in_(sorted(keys)),
                                                Alarm.is_open.is_(True)).order_by(Alarm.id).with_for_update())
    return {(a.device_id, a.rule_code): a for a in found}


def recent_episodes(session: Session, settings: Settings, keys: set[tuple[int, str]], now: datetime) -> OpenAlarms:
    """The last cleared alarm of each (device, rule) pair that cleared within the re-trigger window, in one query."""
    if not keys:
        return {}
    since = now - timedelta(minutes=settings.sensor_retrigger_minutes)
    found = session.scalars(select(Alarm).where(tuple_(Alarm.device_id, Alarm.rule_code).in_(sorted(keys)),
                                                Alarm.cleared_at >= since).order_by(Alarm.cleared_at, Alarm.id))
    return {(a.device_id, a.rule_code): a for a in found}  # the last cleared wins


def sibling_cases(session: Session, wanted: Sequence[tuple[int, DeviceMeta, domain.RuleSpec]]) -> dict[int, int]:
    """For each (alarm id, device, rule): an open case of another open alarm of that device in the same category
    (cover opened + tilted, night + exam noise: one incident, one case), in one query: alarm id -> case id."""
    codes = {alarm_id: {s.code for s in dev.rules if s.category == spec.category and s.code != spec.code}
             for alarm_id, dev, spec in wanted}
    devices = {dev.id for alarm_id, dev, _ in wanted if codes[alarm_id]}
    if not devices:
        return {}
    rows = session.execute(select(Alarm.device_id, Alarm.rule_code, Alarm.case_id).join(
        Case, Case.id == Alarm.case_id).where(Alarm.device_id.in_(sorted(devices)), Alarm.is_open.is_(True),
                                              Case.stage.notin_(TERMINAL)).order_by(Alarm.id)).all()
    out: dict[int, int] = {}
    for alarm_id, dev, _ in wanted:
        found = next((case_id for device_id, rule, case_id in rows
                      if device_id == dev.id and rule in codes[alarm_id]), None)
        if found is not None:
            out[alarm_id] = found
    return out
