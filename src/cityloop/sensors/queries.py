"""Read side of IoT monitoring: devices with their state, alarms, alarm history, public warnings, counters.

Kept cheap for the big screen: one query per list, no per-row lookups."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityloop.cases.api import Case, openable
from cityloop.org.actor import Actor
from cityloop.org.models import Department
from cityloop.sensors import domain
from cityloop.sensors.models import Alarm, AlarmEvent, Counter, Device, PublicWarning
from cityloop.sensors.schemas import AlarmEventOut, AlarmOut, DeviceOut, WarningOut

if TYPE_CHECKING:
    from cityloop.sensors.hj212_listener import Listener, Peer

RULE_NAMES = {s.code: (s.zh, s.en) for specs in domain.DEFAULT_RULES.values() for s in specs}


def _status(device: Device, level: str | None, offline: bool, seen: datetime | None) -> str:
    if device.state != "active":
        return "off"
    if offline:
        return "offline"
    if level is not None:
        return "alarm"
    return "normal" if seen is not None else "silent"


STATUS_NAMES = {"normal": ("正常", "normal"), "alarm": ("报警", "alarm"), "offline": ("离线", "offline"),
                "silent": ("未上报", "never reported"), "off": ("停用", "not active")}


def devices(session: Session, now: datetime, type: str | None = None, status: str | None = None,
            grid: str | None = None, english: bool = False, live: dict[int, list[Any]] | None = None, offset: int = 0,
            limit: int | None = None) -> list[DeviceOut]:
    """Devices by code (a page of them: offset, limit) with their current status, worst open alarm level and latest
    values (`live`: this worker's newer values not yet persisted, device id -> [epoch s, values])."""
    open_alarms: dict[int, list[tuple[str, str]]] = {}
    for device_id, rule, rule_level in session.execute(select(Alarm.device_id, Alarm.rule_code, Alarm.level)
                                                       .where(Alarm.is_open.is_(True))):
        open_alarms.setdefault(device_id, []).append((rule, rule_level))
    stmt = select(Device, Department.code, Department.name).outerjoin(Department, Department.id == Device.department_id)
    if type:
        stmt = stmt.where(Device.type == type)
    if grid:
        stmt = stmt.where(Device.grid_code == grid)
    stmt = stmt.order_by(Device.code)
    if not status and limit is not None:  # a status is derived here: then the page is cut below
        stmt, offset = stmt.offset(offset).limit(limit), 0
    out = []
    for device, dept, dept_name in session.execute(stmt):
        fresh = (live or {}).get(device.id)
        seen, values = device.last_seen_at, device.last_values
        if fresh is not None and (seen is None or fresh[0] > seen.timestamp()):
            seen, values = datetime.fromtimestamp(fresh[0], timezone.utc), dict(fresh[1])
        alarms = open_alarms.get(device.id, [])
        offline = any(rule == "offline" for rule, _ in alarms)
        levels = [lvl for rule, lvl in alarms if rule != "offline"]
        level = max(levels, key=domain.RANK.__getitem__) if levels else None
        state = _status(device, level, offline, seen)
        if status and state != status:
            continue
        names = domain.DEVICE_TYPES.get(device.type, {"zh": device.type, "en": device.type})
        out.append(DeviceOut(code=device.code, name=device.name, type=device.type,
                             type_name=names["en" if english else "zh"], model=device.model, lon=device.lon,
                             lat=device.lat, grid_code=device.grid_code, address=device.address,
                             context=device.context, department=dept, department_name=dept_name,
                             installed_on=device.installed_on,
                             state=device.state, status=state, level=level, last_seen_at=seen,
                             last_values=values, hj212_mn=device.hj212_mn))
    return out[offset:None if limit is None else offset + limit]


def alarms(session: Session, state: str | None = None, device: str | None = None, rule: str | None = None,
           acknowledged: bool | None = None, limit: int = 200, english: bool = False,
           actor: Actor | None = None) -> list[AlarmOut]:
    """Alarms, newest first. state: active (still going on: acknowledged included), acknowledged, cleared.
    With an actor, only cases it may open show their number."""
    stmt = (select(Alarm, Device, Case.number).join(Device, Device.id == Alarm.device_id)
            .outerjoin(Case, Case.id == Alarm.case_id))
    if state == "active":
        stmt = stmt.where(Alarm.is_open.is_(True))
    elif state:
        stmt = stmt.where(Alarm.state == state)
    if acknowledged is not None:
        stmt = stmt.where(Alarm.acknowledged_at.is_not(None) if acknowledged else Alarm.acknowledged_at.is_(None))
    if device:
        stmt = stmt.where(Device.code == device)
    if rule:
        stmt = stmt.where(Alarm.rule_code == rule)
    rows = session.execute(stmt.order_by(Alarm.raised_at.desc(), Alarm.id.desc()).limit(limit)).all()
    allowed = openable(session, actor, (a.case_id for a, _, _ in rows)) if actor is not None else None

    def hide(case_id: int | None) -> bool:
        return allowed is not None and case_id not in allowed

    return [AlarmOut(id=a.id, device=d.code, device_name=d.name, device_type=d.type, rule=a.rule_code,
                     rule_name=RULE_NAMES.get(a.rule_code, (a.rule_code, a.rule_code))[1 if english else 0],
                     level=a.level, state=a.state, value=a.value, peak_value=a.peak_value, raised_at=a.raised_at,
                     updated_at=a.updated_at, acknowledged_at=a.acknowledged_at, acknowledged_by=a.acknowledged_by,
                     cleared_at=a.cleared_at, case_id=None if hide(a.case_id) else a.case_id,
                     case_number=None if hide(a.case_id) else number, lon=d.lon, lat=d.lat)
            for a, d, number in rows]


def alarm_events(session: Session, alarm_id: int, actor: Actor | None = None) -> list[AlarmEventOut]:
    """The history of one alarm (with an actor, case ids and numbers only of cases it may open)."""
    rows = session.scalars(select(AlarmEvent).where(AlarmEvent.alarm_id == alarm_id).order_by(AlarmEvent.id)).all()
    allowed = openable(session, actor, ((e.payload or {}).get("case_id") for e in rows)) if actor else None

    def payload(e: AlarmEvent) -> dict[str, Any] | None:
        data = e.payload
        if allowed is None or not isinstance(data, dict) or "case_id" not in data or data["case_id"] in allowed:
            return data
        return {k: v for k, v in data.items() if k not in ("case_id", "number")}

    return [AlarmEventOut(at=e.at, kind=e.kind, level=e.level, value=e.value, actor=e.actor, payload=payload(e))
            for e in rows]


def warnings(session: Session, now: datetime, include_lifted_hours: int = 0,
             english: bool = False) -> list[WarningOut]:
    """Public warnings in force (and, if asked, those lifted within the last hours)."""
    stmt = select(PublicWarning)
    if include_lifted_hours:
        since = now - timedelta(hours=include_lifted_hours)
        stmt = stmt.where((PublicWarning.lifted_at.is_(None)) | (PublicWarning.lifted_at >= since))
    else:
        stmt = stmt.where(PublicWarning.lifted_at.is_(None))
    return [WarningOut(id=w.id, kind=w.kind, level=w.level, title=w.title_en if english else w.title, place=w.place,
                       lon=w.lon, lat=w.lat, depth_cm=w.depth_cm, published_at=w.published_at,
                       updated_at=w.updated_at, lifted_at=w.lifted_at)
            for w in session.scalars(stmt.order_by(PublicWarning.lifted_at.is_not(None),
                                                   PublicWarning.published_at.desc()))]


def summary(session: Session) -> dict[str, Any]:
    """Counts for a dashboard: devices by type, open alarms by level."""
    by_type = dict(session.execute(select(Device.type, func.count()).group_by(Device.type)).all())
    by_level = dict(session.execute(select(Alarm.level, func.count()).where(Alarm.is_open.is_(True))
                                    .group_by(Alarm.level)).all())
    return {"devices": by_type, "open_alarms": by_level}


def stations(session: Session, listener: Listener | None = None) -> list[dict[str, Any]]:
    """Registered HJ 212 stations: MN, last data, refused frames by reason (counters), and the connection when
    this worker runs the listener (`listener`: its hj212_listener.Listener). Passwords are never shown."""
    refused: dict[int, dict[str, int]] = {}
    for name, value in session.execute(select(Counter.name, Counter.value).where(Counter.name.like("hj212:%"))):
        _, device_id, reason = name.split(":", 2)
        refused.setdefault(int(device_id), {})[reason] = value
    peers: dict[str | None, Peer] = {p.mn: p for p in (listener.peers.values() if listener is not None else ()) if p.mn}
    out = []
    for d in session.scalars(select(Device).where(Device.hj212_mn.is_not(None)).order_by(Device.code)):
        peer = peers.get(d.hj212_mn)
        out.append({"code": d.code, "name": d.name, "type": d.type, "mn": d.hj212_mn, "state": d.state,
                    "last_seen_at": d.last_seen_at, "refused": refused.get(d.id, {}),
                    "connection": None if peer is None else {
                        "peer": peer.address, "since": datetime.fromtimestamp(peer.since, timezone.utc),
                        "frames": peer.frames, "errors": peer.errors,
                        "last_frame_at": datetime.fromtimestamp(peer.last_at, timezone.utc)}})
    return out
