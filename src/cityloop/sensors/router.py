"""Sensors API: telemetry intake (gateways, demo), devices, readings for charts, alarms, public warnings."""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse
from sqlalchemy.orm import Session

from cityloop.deps import (
    AdminDep, ClockDep, GridIndexDep, SessionDep, SettingsDep, StateDep, current_actor, oauth2, require_roles,
)
from cityloop.org.actor import Actor
from cityloop.sensors import alarms as alarm_service
from cityloop.sensors import devices as registry
from cityloop.sensors import queries, store
from cityloop.sensors.models import VALUE_COLUMNS
from cityloop.sensors.pages import pages_router
from cityloop.sensors.readings import Reject, loads
from cityloop.sensors.schemas import (
    AckIn, AlarmEventOut, AlarmOut, DeviceIn, DeviceOut, DevicePatch, TelemetryIn, TelemetryOut, WarningOut,
)
from cityloop.sensors.domain import ACK_ROLES, STAFF
from cityloop.sensors.service import get_ingestor, live_values, reply
from cityloop.shared.errors import Invalid, NotFound, TooLarge, Unauthorized
from cityloop.http.problems import wants_english
from cityloop.shared.ids import MAX_ID
from cityloop.http.openapi import file_of
from cityloop.state import AppState

router = APIRouter(prefix="/api/v1", tags=["sensors 运行监测"])
public_router = APIRouter(prefix="/api/v1/public", tags=["public 公众"])
extra_routers = [public_router, pages_router]
BYTES_PER_READING = 400
STEPS = {"raw": 0, "1m": 60, "1h": 3600}
MAX_MS = 10**14  # year 5138: far enough


async def _gateway_or_admin(request: Request, token: Annotated[str | None, Depends(oauth2)],
                            settings: SettingsDep) -> str:
    key = request.headers.get("x-gateway-key")
    if key is not None:
        if any(hmac.compare_digest(key, k) for k in settings.sensor_gateway_keys):
            return "gateway"
        raise Unauthorized("bad-gateway-key", "网关密钥无效", "Invalid gateway key")
    actor = await current_actor(request, token)
    await require_roles("admin")(actor)
    return actor.username


@router.post("/telemetry", response_model=TelemetryOut, openapi_extra={"requestBody": {"required": True, "content": {
    "application/json": {"schema": TelemetryIn.model_json_schema(ref_template="#/components/schemas/{model}")}}}})
async def telemetry(request: Request, state: StateDep,
                    caller: Annotated[str, Depends(_gateway_or_admin)]) -> TelemetryOut:
    """上传监测数据 / Readings in a batch: {"readings": [{"device_id", "ts", "values": {…}}]}. Each reading is
    accepted or refused with a reason (unknown device, bad unit, NaN, far-future time …); refusals are counted."""
    settings = state.settings
    ingestor = get_ingestor(state)
    limit = settings.sensor_max_batch * BYTES_PER_READING
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        await run_in_threadpool(ingestor.count_rejects, [Reject("batch-too-large")])
        raise TooLarge("batch-too-large", f"请求体过大（上限 {limit} 字节）", f"Body too large (limit {limit} bytes)")
    body = await request.body()
    try:
        doc = loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        await run_in_threadpool(ingestor.count_rejects, [Reject("bad-json")])
        raise Invalid("bad-json", "请求体不是有效的 JSON", f"The body is not valid JSON: {exc}") from exc
    items = doc.get("readings") if isinstance(doc, dict) else None
    if not isinstance(items, list):
        await run_in_threadpool(ingestor.count_rejects, [Reject("bad-shape")])
        raise Invalid("bad-shape", "请求体应为 {\"readings\": [...]}", 'The body must be {"readings": [...]}')
    if len(items) > settings.sensor_max_batch:
        await run_in_threadpool(ingestor.count_rejects, [Reject("batch-too-large")])
        raise TooLarge("batch-too-large", f"一次最多 {settings.sensor_max_batch} 条读数",
                       f"At most {settings.sensor_max_batch} readings per request")
    result = await run_in_threadpool(ingestor.ingest_items, items)
    return reply(result, wants_english(request))


@router.get("/sensors/devices", response_model=list[DeviceOut])
def list_devices(request: Request, session: SessionDep, actor: Annotated[Actor, Depends(require_roles(*STAFF))],
                 state: StateDep, type: str | None = None, status: str | None = None, grid: str | None = None,
                 offset: int = Query(0, ge=0, le=1_000_000),
                 limit: int = Query(5000, ge=1, le=20_000)) -> list[DeviceOut]:
    """设备列表 / Devices by code with status (normal/alarm/offline/silent/off), worst open alarm level, latest
    values; a page at a time (offset, limit)."""
    return queries.devices(session, state.clock.now(), type, status, grid, wants_english(request),
                           live_values(state), offset, limit)


@router.post("/sensors/devices", response_model=DeviceOut, status_code=201)
def add_device(body: DeviceIn, request: Request, session: SessionDep,
               actor: AdminDep, state: StateDep,
               index: GridIndexDep) -> DeviceOut:
    """登记设备 / Register a device (its unit grid comes from its place)."""
    device = registry.add(session, state.settings, body.model_dump(), index.locate, state.clock.now())
    state.changes.announce("devices")  # this host's ingestor and every other host's reload the registry
    return _device_out(session, state, wants_english(request), device.code)


@router.patch("/sensors/devices/{code}", response_model=DeviceOut)
def change_device(code: str, body: DevicePatch, request: Request, session: SessionDep,
                  actor: AdminDep, state: StateDep,
                  index: GridIndexDep) -> DeviceOut:
    """修改设备 / Change a device's registry fields, state or rule overrides."""
    registry.change(session, state.settings, code, body.model_dump(exclude_unset=True), index.locate,
                    state.clock.now())
    state.changes.announce("devices")  # this host's ingestor and every other host's reload the registry
    return _device_out(session, state, wants_english(request), code)


def _device_out(session: Session, state: AppState, english: bool, code: str) -> DeviceOut:
    found = [d for d in queries.devices(session, state.clock.now(), english=english,
                                        live=live_values(state)) if d.code == code]
    if not found:
        raise NotFound("device-not-found", f"设备不存在：{code}", f"No device {code}")
    return found[0]


@router.get("/sensors/devices.csv", response_class=PlainTextResponse, responses=file_of("text/csv"))
def export_devices(session: SessionDep,
                   actor: AdminDep) -> PlainTextResponse:
    """导出设备台账 / All devices as CSV (the import format)."""
    return PlainTextResponse(registry.export_csv(session), media_type="text/csv; charset=utf-8")


@router.post("/sensors/devices/import", response_model=None)
async def import_devices(request: Request, session: SessionDep,
                         actor: AdminDep, state: StateDep,
                         index: GridIndexDep) -> dict[str, int]:
    """导入设备台账 / Add or update devices from a CSV body (UTF-8); all or nothing."""
    raw = await request.body()
    if len(raw) > 20 * 1024 * 1024:
        raise TooLarge("csv-too-large", "文件过大", "The CSV file is too large")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Invalid("bad-encoding", "CSV 须为 UTF-8 编码", "The CSV must be UTF-8") from exc
    locate = index.locate

    counts = await run_in_threadpool(registry.import_csv, session, state.settings, text, locate, state.clock.now())
    await run_in_threadpool(state.changes.announce, "devices")
    return counts


@router.get("/sensors/devices/{code}", response_model=DeviceOut)
def get_device(code: str, request: Request, session: SessionDep,
               actor: Annotated[Actor, Depends(require_roles(*STAFF))], state: StateDep) -> DeviceOut:
    """设备详情 / One device."""
    return _device_out(session, state, wants_english(request), code)


@router.get("/sensors/devices/{code}/readings", response_model=None)
def device_readings(code: str, metric: str, session: SessionDep,
                    actor: Annotated[Actor, Depends(require_roles(*STAFF))], clock: ClockDep,
                    start: int | None = Query(None, ge=0, le=MAX_MS), end: int | None = Query(None, ge=0, le=MAX_MS),
                    step: str = "auto") -> dict[str, Any]:
    """读数曲线 / Chart data: start/end in epoch ms (default the last 6 hours); step raw | 1m | 1h | auto.
    Raw points are [ts, value]; rollups [bucket, avg, min, max]."""
    device = registry.get(session, code)
    now_ms = int(clock.now().timestamp() * 1000)
    end = end or now_ms + 300_000  # readings may run a little ahead of the server clock
    start = start if start is not None else end - 6 * 3_600_000
    if end <= start or end - start > 400 * 86_400_000:
        raise Invalid("bad-range", "时间范围无效（最长 400 天）", "Bad time range (at most 400 days)")
    if step == "auto":
        span = end - start
        step = "raw" if span <= 6 * 3_600_000 else "1m" if span <= 7 * 86_400_000 else "1h"
    if step not in STEPS or metric not in VALUE_COLUMNS:
        raise Invalid("bad-series", "metric 或 step 无效", f"Unknown metric or step (steps: {', '.join(STEPS)}, auto)")
    points = store.series(session, device.id, metric, start, end, STEPS[step])
    return {"device": code, "metric": metric, "step": step, "start": start, "end": end, "points": points}


@router.get("/sensors/alarms", response_model=list[AlarmOut])
def list_alarms(request: Request, state: str | None = Query(None, pattern="^(active|acknowledged|cleared)$"),
                device: str | None = None, rule: str | None = None, acknowledged: bool | None = None,
                limit: int = Query(200, ge=1, le=1000), *, session: SessionDep,
                actor: Annotated[Actor, Depends(require_roles(*STAFF))]) -> list[AlarmOut]:
    """报警列表 / Alarms, newest first. state=active: still going on (acknowledged ones included)."""
    return queries.alarms(session, state, device, rule, acknowledged, limit, wants_english(request), actor)


@router.get("/sensors/alarms/{alarm_id}/events", response_model=list[AlarmEventOut])
def alarm_history(session: SessionDep, actor: Annotated[Actor, Depends(require_roles(*STAFF))],
                  alarm_id: int = Path(ge=1, le=MAX_ID)) -> list[AlarmEventOut]:
    """报警历史 / An alarm's history: raise, escalate, case, warning, acknowledge, clear …"""
    return queries.alarm_events(session, alarm_id, actor)


@router.post("/sensors/alarms/{alarm_id}/acknowledge", response_model=AlarmOut)
def acknowledge(request: Request, alarm_id: int = Path(ge=1, le=MAX_ID), body: AckIn | None = None, *,
                session: SessionDep, actor: Annotated[Actor, Depends(require_roles(*ACK_ROLES))],
                clock: ClockDep) -> AlarmOut:
    """确认报警 / Acknowledge an active alarm."""
    alarm = alarm_service.acknowledge(session, alarm_id, actor.username, clock.now(),
                                      body.note if body else None)
    return [a for a in queries.alarms(session, limit=1000, english=wants_english(request), actor=actor)
            if a.id == alarm.id][0]


@router.get("/sensors/stats", response_model=None)
def stats(session: SessionDep, actor: Annotated[Actor, Depends(require_roles(*STAFF))]) -> dict[str, Any]:
    """接入统计 / Ingestion counters (accepted, stored, rejected by reason) and alarm counts."""
    return {"counters": store.counters(session), **queries.summary(session)}


@router.get("/sensors/hj212/stations", response_model=None)
def hj212_stations(session: SessionDep, actor: Annotated[Actor, Depends(require_roles(*STAFF))],
                   state: StateDep) -> list[dict[str, Any]]:
    """HJ 212 站点 / Registered HJ 212 stations: MN, last data, refused frames by reason (bad CRC, wrong password
    …) and, where this worker runs the listener, the station's connection."""
    return queries.stations(session, state.sensor_hj212)


@public_router.get("/warnings", response_model=list[WarningOut])
def public_warnings(request: Request, session: SessionDep, clock: ClockDep,
                    recent_hours: int = Query(0, ge=0, le=72)) -> list[WarningOut]:
    """积水预警（公众）/ Public warnings in force: road closed or pass with caution (no login)."""
    return queries.warnings(session, clock.now(), recent_hours, wants_english(request))

