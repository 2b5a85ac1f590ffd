"""Violation episodes become violations, and violations become cases: each opened episode is stored with its
track segment as evidence and opens a case (source fleet) filed under the configured matter and dispatched to the
enforcement department; an ended episode completes its violation.

One truck's repeats of one kind on one day are one matter for the enforcement department: while that day's case is
still open, a new violation is recorded and linked to it instead of opening another case (同车同类当日合并)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.cases import api as cases_api
from cityloop.cases.api import Case
from cityloop.config import Settings
from cityloop.fleet import positions, track
from cityloop.fleet.domain import KINDS, Event
from cityloop.fleet.models import Vehicle, Violation
from cityloop.geo.domain import Locate
from cityloop.shared.errors import AppError
from cityloop.sla.domain import WorkCalendar

log = logging.getLogger("cityloop.fleet")
MAX_EVIDENCE_POINTS = 120


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, timezone.utc)


def evidence(session: Session, vehicle: Vehicle, e: Event) -> dict[str, Any]:
    """The track segment of an episode (simplified), with its summary."""
    rows = positions.track(session, vehicle.id, e.start, e.at)
    tol = 2.0
    keep = track.simplify(rows[:, 1], rows[:, 2], tol) if len(rows) else np.zeros(0, int)
    while len(keep) > MAX_EVIDENCE_POINTS:
        tol *= 2
        keep = track.simplify(rows[:, 1], rows[:, 2], tol)
    return {
        "plate": vehicle.plate, "kind": e.kind, "kind_name": KINDS[e.kind][0],
        "started_at": _utc(e.start).isoformat(), "detected_at": _utc(e.at).isoformat(),
        "duration_s": round(e.at - e.start), "points": len(rows),
        "distance_m": round(track.length_m(rows[:, 1], rows[:, 2])) if len(rows) else 0,
        "max_speed_kmh": round(float(rows[:, 3].max()), 1) if len(rows) else None,
        "details": e.details, "permit_id": e.permit_id,
        "track": [[int(r[0]), round(r[1], 6), round(r[2], 6), round(r[3], 1)] for r in rows[keep]],
    }


def _describe(vehicle: Vehicle, e: Event) -> str:
    d = e.details
    extra = {
        "speeding": lambda: f"车速 {d.get('speed_kmh')} km/h，限速 {d.get('limit_kmh'):g} km/h",
        "off_route": lambda: f"偏离核准路线 {d.get('metres')} 米",
        "out_of_hours": lambda: f"{d.get('local_time')} 载重行驶，核准时段 {d.get('hours')}",
        "restricted": lambda: f"驶入{d.get('zone')}",
        "offline": lambda: f"行驶中终端离线 {d.get('gap_s')} 秒",
    }.get(e.kind, lambda: f"持续 {d.get('duration_s', round(e.at - e.start))} 秒")()
    return f"渣土车 {vehicle.plate} {KINDS[e.kind][0]}：{extra}（北斗/GPS 轨迹自动识别）"


def _place(locate: Locate, e: Event, ev: dict[str, Any]) -> tuple[float, float] | None:
    """Where to file the case: the violation point, else the nearest-in-time point of its track inside the district."""
    for lon, lat in [(e.lon, e.lat)] + [(p[1], p[2]) for p in reversed(ev["track"])]:
        if np.isfinite(lon) and np.isfinite(lat) and locate(lon, lat) is not None:
            return lon, lat
    return None


Pending = list[tuple[Violation, cases_api.NewCase]]  # violations whose cases open_pending() opens together


def open_violation(session: Session, settings: Settings, e: Event, now: datetime, locate: Locate,
                   pending: Pending) -> Violation | None:
    """Store an opened episode (in the caller's transaction) and leave its case in `pending` for open_pending(),
    unless it joins the day's case or opens none."""
    if session.scalar(select(Violation.id).where(Violation.key == e.key)) is not None:
        return None
    vehicle = session.get(Vehicle, e.vehicle_id)
    if vehicle is None:
        return None
    ev = evidence(session, vehicle, e)
    v = Violation(key=e.key, kind=e.kind, vehicle_id=vehicle.id, company_id=vehicle.company_id, permit_id=e.permit_id,
                  started_at=_utc(e.start), detected_at=_utc(e.at), lon=e.lon, lat=e.lat, details=e.details,
                  evidence=ev, status="open", appeal_due_at=now + timedelta(days=settings.fleet_appeal_days))
    session.add(v)
    session.flush()
    code, _, condition = settings.fleet_matters.get(e.kind, "").partition("/")
    if not code:
        v.case_error = "该类违规不属数字城管立案事项，未立案 / not a city-management matter: no case"
        return v
    if (open_case := _open_case_of_the_day(session, settings, v)) is not None:
        v.case_id = open_case
        return v
    place = _place(locate, e, ev)
    if place is None:
        v.case_error = "位置不在本县范围内，未立案 / outside the district: no case"
        return v
    summary = {k: ev[k] for k in ("plate", "kind", "kind_name", "started_at", "detected_at", "duration_s", "points",
                                  "distance_m", "max_speed_kmh", "details")}
    wanted = cases_api.NewCase(
        source="fleet", category_code=code, condition_code=condition or None, lon=place[0], lat=place[1],
        description=_describe(vehicle, e), department_code=settings.fleet_department_code, key=f"fleet:{e.key}",
        evidence={**summary, "violation_id": v.id, "track": ev["track"][-50:]})
    pending.append((v, wanted))
    return v


def open_pending(session: Session, settings: Settings, now: datetime, cal: WorkCalendar, locate: Locate,
                 pending: Pending) -> None:
    """Open the pending violations' cases together (cases_api.open_cases) and link them; empties `pending`."""
    if not pending:
        return
    items = list(pending)
    pending.clear()
    for (v, _), result in zip(items, cases_api.open_cases(session, settings, cal, now, locate, [w for _, w in items])):
        if isinstance(result, AppError):
            v.case_error = f"{result.zh} / {result.en}"[:200]
            log.warning("violation %s opened no case: %s", v.key, result.en)
        else:
            v.case_id = result.id


def _open_case_of_the_day(session: Session, settings: Settings, v: Violation) -> int | None:
    """The still-open case of an earlier violation of this truck and kind on the same local day, if any."""
    zone = ZoneInfo(settings.timezone)
    local = v.started_at.astimezone(zone)
    day = datetime(local.year, local.month, local.day, tzinfo=zone).astimezone(timezone.utc)
    return session.scalar(select(Violation.case_id).join(Case, Case.id == Violation.case_id).where(
        Violation.vehicle_id == v.vehicle_id, Violation.kind == v.kind, Violation.id != v.id,
        Violation.started_at >= day, Violation.started_at < day + timedelta(days=1), Case.closed_at.is_(None))
        .order_by(Violation.id.desc()).limit(1))


def close_violation(session: Session, e: Event) -> None:
    """An episode ended: record when, and its final figures."""
    v = session.scalar(select(Violation).where(Violation.key == e.key))
    if v is not None and v.ended_at is None:
        v.ended_at = _utc(e.at)
        v.details = {**(v.details or {}), "final": e.details}


def record(session: Session, settings: Settings, events: list[Event], now: datetime, cal: WorkCalendar,
           locate: Locate) -> list[Violation]:
    """Write the violations of a batch of episodes; returns the new ones."""
    made: list[Violation] = []
    pending: Pending = []
    for e in events:
        if e.closed:
            close_violation(session, e)
            continue
        if any(v.vehicle_id == e.vehicle_id and v.kind == e.kind for v, _ in pending):
            open_pending(session, settings, now, cal, locate, pending)  # its day's case may be one of them
        if (v := open_violation(session, settings, e, now, locate, pending)) is not None:
            made.append(v)
    open_pending(session, settings, now, cal, locate, pending)
    return made
