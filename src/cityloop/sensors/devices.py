"""Device registry (设备台账): register, change, import/export CSV; and the in-memory view the ingestor uses."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.config import Settings
from cityloop.geo.domain import Place
from cityloop.geo.queries import outside_error
from cityloop.org.models import Department
from cityloop.sensors import domain
from cityloop.sensors.models import Device
from cityloop.sensors.readings import DeviceRef
from cityloop.shared.errors import Conflict, Invalid, NotFound

CONTEXTS = ("square", "underpass", "road", "construction", "school", "hospital", "residential", "other")
STATES = ("active", "maintenance", "retired")
CSV_COLUMNS = ("code", "name", "type", "model", "lon", "lat", "address", "context", "department", "installed_on",
               "state", "cover_type", "component_id", "hj212_mn", "hj212_password")
HJ212_COLUMNS = ("hj212_mn", "hj212_password")
Locate = Callable[[float, float], Place | None]  # where a point is (GridIndex.locate)


@dataclass(frozen=True)
class DeviceMeta:
    """A device as rules and alarms see it (built once per registry load)."""

    id: int
    code: str
    name: str
    type: str
    context: str | None
    lon: float
    lat: float
    address: str | None
    department_code: str | None
    cover_type: str | None
    component_id: str | None
    rules: tuple[domain.RuleSpec, ...]
    by_metric: dict[str, tuple[tuple[domain.RuleSpec, float, float], ...]]  # metric -> its rules, calm ranges
    scheduled: bool  # some rule has a schedule (the local time is needed)


def rules_of(settings: Settings, device_type: str,
             overrides: dict[str, dict[str, Any]] | None) -> tuple[domain.RuleSpec, ...]:
    """The effective rules of a device; a bad override is a 422."""
    try:
        return domain.rules_for(device_type, settings.sensor_rules.get(device_type, {}), overrides or {},
                                frozenset(settings.sensor_exam_dates))
    except (ValueError, TypeError) as exc:
        raise Invalid("bad-rule-override", f"规则配置无效：{exc}", f"Invalid rule override: {exc}") from exc


def load(session: Session, settings: Settings) -> tuple[dict[str, DeviceRef], dict[int, DeviceMeta]]:
    """Every device as (refs by code for validation, metas by id for rules and alarms)."""
    depts = dict(session.execute(select(Department.id, Department.code)).all())
    refs: dict[str, DeviceRef] = {}
    metas: dict[int, DeviceMeta] = {}
    for d in session.scalars(select(Device)):
        refs[d.code] = DeviceRef(d.id, d.code, d.type, d.state == "active")
        try:
            rules = rules_of(settings, d.type, d.rule_overrides)
        except Invalid:
            rules = rules_of(settings, d.type, None)  # a stored bad override never stops ingestion
        by_metric: dict[str, tuple[tuple[domain.RuleSpec, float, float], ...]] = {}
        for spec in rules:
            if spec.metric:
                by_metric[spec.metric] = by_metric.get(spec.metric, ()) + ((spec, *domain.calm(spec)),)
        metas[d.id] = DeviceMeta(d.id, d.code, d.name, d.type, d.context, d.lon, d.lat, d.address,
                                 _code_of(depts, d.department_id), d.cover_type, d.component_id, rules, by_metric,
                                 any(s.schedule is not None for s in rules))
    return refs, metas


def _code_of(depts: dict[int, str], department_id: int | None) -> str | None:
    return depts.get(department_id) if department_id is not None else None


def _department_id(session: Session, code: str | None) -> int | None:
    if not code:
        return None
    dept_id = session.scalar(select(Department.id).where(Department.code == code))
    if dept_id is None:
        raise Invalid("unknown-department", f"未知部门：{code}", f"Unknown department {code}")
    return dept_id


def apply_fields(session: Session, settings: Settings, device: Device, data: dict[str, Any], locate: Locate,
                 now: datetime) -> Device:
    """Check and set registry fields (type, place → grid, unit, state …) on a new or existing device."""
    if "type" in data and data["type"] not in domain.DEVICE_TYPES:
        raise Invalid("unknown-device-type", f"未知设备类型：{data['type']}",
                      f"Unknown device type {data['type']}; use one of {', '.join(domain.DEVICE_TYPES)}")
    if data.get("context") and data["context"] not in CONTEXTS:
        raise Invalid("unknown-context", f"未知场所类型：{data['context']}", f"Unknown context; use {', '.join(CONTEXTS)}")
    if "state" in data and data["state"] not in STATES:
        raise Invalid("unknown-state", f"未知状态：{data['state']}", f"Unknown state; use {', '.join(STATES)}")
    if "department" in data:
        device.department_id = _department_id(session, data.pop("department"))
    for key in ("code", "name", "type", "model", "lon", "lat", "address", "context", "installed_on", "state",
                "cover_type", "component_id", "rule_overrides", *HJ212_COLUMNS):
        if key in data:
            setattr(device, key, data[key])
    rules_of(settings, device.type, device.rule_overrides)
    _check_station(session, device)
    place = locate(device.lon, device.lat)
    if place is None:
        raise outside_error(locate)
    device.grid_code = place.grid_code
    device.updated_at = now
    return device


def _check_station(session: Session, device: Device) -> None:
    """An HJ 212 station needs both MN and password, and its MN must be its own."""
    if bool(device.hj212_mn) != bool(device.hj212_password):
        raise Invalid("hj212-incomplete", "HJ 212 站点须同时登记 MN（监测点编码）和访问密码",
                      "An HJ 212 station needs both its MN and its password")
    if device.hj212_mn:
        other = session.scalar(select(Device.code).where(Device.hj212_mn == device.hj212_mn,
                                                         Device.code != device.code))
        if other is not None:
            raise Conflict("hj212-mn-taken", f"MN {device.hj212_mn} 已登记给设备 {other}",
                           f"MN {device.hj212_mn} is already registered to device {other}")


def register(session: Session, settings: Settings, data: dict[str, Any], locate: Locate, now: datetime) -> Device:
    """Add a device (not committed); a taken code is a 409."""
    if session.scalar(select(Device.id).where(Device.code == data["code"])) is not None:
        raise Conflict("device-exists", f"设备编号已存在：{data['code']}", f"Device {data['code']} already exists")
    device = Device(state="active", created_at=now)
    data = {"state": "active", **data}
    apply_fields(session, settings, device, data, locate, now)
    session.add(device)
    return device


def add(session: Session, settings: Settings, data: dict[str, Any], locate: Locate, now: datetime) -> Device:
    """登记设备: register one device (committed)."""
    device = register(session, settings, data, locate, now)
    session.commit()
    return device


def change(session: Session, settings: Settings, code: str, data: dict[str, Any], locate: Locate,
           now: datetime) -> None:
    """修改设备: change a device's registry fields, state or rule overrides (committed)."""
    apply_fields(session, settings, get(session, code), data, locate, now)
    session.commit()


def get(session: Session, code: str) -> Device:
    """A device by its code, or 404."""
    device = session.scalar(select(Device).where(Device.code == code))
    if device is None:
        raise NotFound("device-not-found", f"设备不存在：{code}", f"No device {code}")
    return device


def _row(raw: dict[str, str | None], line: int) -> dict[str, Any]:
    from pydantic import ValidationError

    from cityloop.sensors.schemas import DeviceIn

    data = {k: (raw.get(k) or "").strip() or None for k in CSV_COLUMNS}
    state = data.pop("state") or "active"
    try:
        given = {k: v for k, v in data.items() if v is not None}
        checked = DeviceIn.model_validate_strings(given).model_dump(exclude={"rule_overrides"})
    except ValidationError as exc:
        fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in exc.errors())
        raise Invalid("bad-csv-row", f"第 {line} 行无效：{fields}", f"Line {line} is invalid: {fields}",
                      line=line) from exc
    return {**checked, "state": state}


def import_csv(session: Session, settings: Settings, text: str, locate: Locate, now: datetime) -> dict[str, int]:
    """Add or update devices from CSV (columns CSV_COLUMNS, UTF-8, header row); all or nothing, one commit."""
    if "\x00" in text:
        raise Invalid("bad-csv", "CSV 含有非法字符（NUL）", "The CSV contains NUL characters")
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = {"code", "name", "type", "lon", "lat"} - set(reader.fieldnames or ())
    if missing:
        raise Invalid("bad-csv-header", f"缺少列：{', '.join(sorted(missing))}", f"Missing columns: {', '.join(sorted(missing))}")
    existing = {d.code: d for d in session.scalars(select(Device))}
    with_station = set(HJ212_COLUMNS) <= set(reader.fieldnames or ())  # older files leave stations as they are
    created = updated = 0
    try:
        rows = list(reader)
    except csv.Error as exc:
        raise Invalid("bad-csv", f"CSV 格式错误：{exc}", f"Malformed CSV: {exc}") from exc
    for line, raw in enumerate(rows, start=2):
        data = _row(raw, line)
        if not with_station:
            for key in HJ212_COLUMNS:
                data.pop(key, None)
        try:
            if data["code"] in existing:
                apply_fields(session, settings, existing[data["code"]], data, locate, now)
                updated += 1
            else:
                existing[data["code"]] = register(session, settings, data, locate, now)
                created += 1
        except (Invalid, Conflict) as exc:
            raise type(exc)(exc.code, f"第 {line} 行：{exc.zh}", f"Line {line}: {exc.en}", line=line) from exc
    session.commit()
    return {"created": created, "updated": updated}


def export_csv(session: Session) -> str:
    """Every device as CSV (the import format)."""
    depts = dict(session.execute(select(Department.id, Department.code)).all())
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for d in session.scalars(select(Device).order_by(Device.code)):
        writer.writerow([d.code, d.name, d.type, d.model or "", d.lon, d.lat, d.address or "", d.context or "",
                         _code_of(depts, d.department_id) or "", d.installed_on.isoformat() if d.installed_on else "",
                         d.state, d.cover_type or "", d.component_id or "", d.hj212_mn or "", d.hj212_password or ""])
    return out.getvalue()
