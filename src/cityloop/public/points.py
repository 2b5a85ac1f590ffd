"""Service points (服务点位): create, change, delete and import from CSV; every point is located in a unit grid."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import datetime
from typing import Any, get_args

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.catalog.models import Component
from cityloop.geo.coords import to_wgs84
from cityloop.public import domain
from cityloop.public.models import ServicePoint
from cityloop.public.schemas import Kind, ServicePointIn, ServicePointPatch, State
from cityloop.shared.errors import Conflict, Invalid, NotFound

Locate = Callable[[float, float], object]
CSV_COLUMNS = ("code", "kind", "name", "address", "lon", "lat", "hours", "free", "drinking_water", "accessible",
               "kit", "phone", "state", "note")
_KIND_BY_NAME: dict[str, Kind] = {domain.KINDS[k][0]: k for k in get_args(Kind)} | {k: k for k in get_args(Kind)}
_STATE_BY_NAME: dict[str, State] = {domain.STATES[k][0]: k for k in get_args(State)} | {k: k for k in get_args(State)}
_TRUE, _FALSE = {"1", "true", "yes", "y", "是", "有", "免费"}, {"0", "false", "no", "n", "否", "无", "收费", ""}


def place(point: ServicePoint, locate: Locate) -> None:
    """Set the unit grid and community of a point from its position (None outside every grid)."""
    found = locate(point.lon, point.lat)
    point.grid_code = getattr(found, "grid_code", None)
    point.community_code = getattr(found, "community_code", None)


def _check_refs(session: Session, fields: dict[str, Any], point_id: int | None) -> None:
    if fields.get("component_id") and session.get(Component, fields["component_id"]) is None:
        raise Invalid("no-such-component", f"部件 {fields['component_id']} 不存在",
                      f"No component {fields['component_id']}")
    if fields.get("code"):
        other = session.scalar(select(ServicePoint.id).where(ServicePoint.code == fields["code"]))
        if other is not None and other != point_id:
            raise Conflict("duplicate-code", f"编号 {fields['code']} 已被使用", f"Code {fields['code']} is taken")


def create(session: Session, body: ServicePointIn, locate: Locate, now: datetime) -> ServicePoint:
    """Add a service point."""
    fields = body.model_dump()
    _check_refs(session, fields, None)
    point = ServicePoint(**fields, created_at=now, updated_at=now)
    place(point, locate)
    session.add(point)
    session.commit()
    return point


def get(session: Session, point_id: int) -> ServicePoint:
    """One service point, or 404."""
    point = session.get(ServicePoint, point_id)
    if point is None:
        raise NotFound("no-such-point", "服务点位不存在", "No such service point")
    return point


def update(session: Session, point_id: int, body: ServicePointPatch, locate: Locate, now: datetime) -> ServicePoint:
    """Change the given fields; a move is located again."""
    point = get(session, point_id)
    fields = body.model_dump(exclude_unset=True)
    for required in ("kind", "name", "lon", "lat", "free", "drinking_water", "accessible", "state"):
        if required in fields and fields[required] is None:
            raise Invalid("required", f"{required} 不能为空", f"{required} cannot be empty")
    _check_refs(session, fields, point.id)
    for key, value in fields.items():
        setattr(point, key, value)
    if "lon" in fields or "lat" in fields:
        place(point, locate)
    point.updated_at = now
    session.commit()
    return point


def delete(session: Session, point_id: int) -> None:
    """Remove a service point (placements and records that named it keep their own position)."""
    session.delete(get(session, point_id))
    session.commit()


def _bool(text: str, column: str, default: bool) -> bool:
    value = text.strip().lower()
    if not value:
        return default
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"{column}: 应为 是/否 / expected yes or no, got {text!r}")


def _row(raw: dict[str, str], crs: str) -> ServicePointIn:
    def get_(k: str) -> str:
        return (raw.get(k) or "").strip()

    kind = _KIND_BY_NAME.get(get_("kind"))
    if kind is None:
        raise ValueError(f"kind: 未知类型 / unknown kind {get_('kind')!r}")
    state = _STATE_BY_NAME.get(get_("state") or "active")
    if state is None:
        raise ValueError(f"state: 未知状态 / unknown state {get_('state')!r}")
    try:
        lon, lat = to_wgs84(float(get_("lon")), float(get_("lat")), crs)
    except ValueError as exc:
        raise ValueError("lon/lat: 坐标无效 / bad coordinates") from exc
    kit = [i for i in (x.strip() for x in get_("kit").replace("|", "、").replace(";", "、").split("、")) if i]
    return ServicePointIn(
        code=get_("code") or None, kind=kind, name=get_("name"), address=get_("address") or None, lon=lon, lat=lat,
        hours=get_("hours") or None, free=_bool(get_("free"), "free", True),
        drinking_water=_bool(get_("drinking_water"), "drinking_water", False),
        accessible=_bool(get_("accessible"), "accessible", False), kit=kit or None, phone=get_("phone") or None,
        state=state, note=get_("note") or None)


def decode_csv(data: bytes) -> str:
    """CSV text in UTF-8 (with or without BOM) or GB18030 (what Excel saves on Chinese Windows)."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise Invalid("bad-encoding", "文件编码无法识别（请使用 UTF-8）", "Unreadable text encoding (use UTF-8)")


def parse_csv(data: bytes, crs: str = "wgs84", max_rows: int = 20000) -> list[ServicePointIn]:
    """Rows of a service point CSV (header names as CSV_COLUMNS; kind and state in English or Chinese).
    Every bad row is reported at once, by line number."""
    text = decode_csv(data)
    if "\x00" in text:
        raise Invalid("bad-csv", "文件不是文本 CSV", "Not a text CSV file")
    reader = csv.DictReader(io.StringIO(text))
    missing = {"kind", "name", "lon", "lat"} - set(reader.fieldnames or [])
    if missing:
        raise Invalid("bad-csv", f"缺少列：{', '.join(sorted(missing))}", f"Missing columns: {', '.join(sorted(missing))}")
    rows: list[ServicePointIn] = []
    errors: list[dict[str, Any]] = []
    try:
        lines = list(reader)
    except csv.Error as exc:
        raise Invalid("bad-csv", f"CSV 格式错误：{exc}", f"Malformed CSV: {exc}") from exc
    for line, raw in enumerate(lines, start=2):
        if len(rows) >= max_rows:
            raise Invalid("too-many-rows", f"一次最多导入 {max_rows} 行", f"At most {max_rows} rows per import")
        try:
            rows.append(_row(raw, crs))
        except ValidationError as exc:
            errors.append({"line": line, "error": "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                                                             for e in exc.errors())})
        except ValueError as exc:
            errors.append({"line": line, "error": str(exc)})
    if errors:
        raise Invalid("bad-rows", f"{len(errors)} 行有误，未导入任何数据", f"{len(errors)} bad rows; nothing imported",
                      errors=errors[:100])
    codes = [r.code for r in rows if r.code]
    if len(codes) != len(set(codes)):
        raise Invalid("duplicate-code", "文件中有重复的编号", "The file repeats a code")
    return rows


def import_rows(session: Session, rows: list[ServicePointIn], locate: Locate, now: datetime) -> tuple[int, int]:
    """Create the new points and update those whose code exists, in one transaction: (created, updated)."""
    codes = [r.code for r in rows if r.code]
    existing = {p.code: p for p in session.scalars(select(ServicePoint).where(ServicePoint.code.in_(codes)))} \
        if codes else {}
    created = updated = 0
    for row in rows:
        point = existing.get(row.code) if row.code else None
        if point is None:
            point = ServicePoint(**row.model_dump(), created_at=now, updated_at=now)
            session.add(point)
            created += 1
        else:
            for key, value in row.model_dump().items():
                setattr(point, key, value)
            point.updated_at = now
            updated += 1
        place(point, locate)
    session.commit()
    return created, updated
