"""How a batch is put on the wire for the upstream (`CITYLOOP_EXCHANGE_ADAPTER`): `cityloop` — protocol v1 for
another CityLoop, its bytes spliced from the outbox text without re-encoding; `national-json` — the generic JSON
field layout (CJ/T 545 categories, flat named fields) a provincial/national interface is mapped from."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol
from collections.abc import Sequence

import httpx

from cityloop.exchange.domain import PROTOCOL_VERSION
from cityloop.config import Settings

if TYPE_CHECKING:
    from sqlalchemy import Row

    # One unacknowledged outbox message as the sender selects it: id, case id, case seq, body text, created at.
    OutboxLine = Row[int, int | None, int | None, str, datetime]

Photos = dict[tuple[int, int], list[dict[str, Any]]]  # photos' hashes by (case id, event seq)
NATIONAL_VERSION = "1.0"
# kind → (CJ/T 545 category, its short code, record type in the generic layout)
CATEGORIES = {"case.event": ("管理数据", "GL", "case_event"), "component.change": ("基础数据", "JC", "component"),
              "alarm.summary": ("运行数据", "YX", "alarm"), "assessment.monthly": ("综合评价数据", "PJ", "assessment")}


@dataclass
class Answer:
    """What the upstream said: accepted (ack through last id), or refused with an error; assignments down."""

    ok: bool
    error: str = ""
    stale_through: int | None = None  # a CityLoop that already holds everything through this outbox id
    assignments: list[dict[str, Any]] = field(default_factory=list)


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


class CityLoop:
    """Protocol v1 (docs/exchange.md): the batch as the receiver of another CityLoop expects it."""

    name = "cityloop"

    def encode(self, platform: str, rows: Sequence[OutboxLine], photos: Photos, now: datetime) -> bytes:
        """The batch body: each outbox text with created_at (and photos for case events) appended."""
        parts: list[str] = []
        for r in rows:
            extra = f',"created_at":"{r.created_at.isoformat()}"'
            if r.case_id is not None:
                extra += ',"photos":' + json.dumps(photos.get((r.case_id, r.case_seq), []), separators=(",", ":"))
            parts.append(r.raw.rstrip()[:-1] + extra + "}")
        first, last = (rows[0].id, rows[-1].id) if rows else (0, 0)
        head = json.dumps({"v": PROTOCOL_VERSION, "platform": platform, "batch_id": f"{first}-{last}",
                           "first_id": first, "last_id": last, "sent_at": now.isoformat()},
                          ensure_ascii=False, separators=(",", ":"))
        return (head[:-1] + ',"events":[' + ",".join(parts) + "]}").encode()

    def interpret(self, response: httpx.Response) -> Answer:
        answer = _json(response)
        if response.status_code == 409 and answer.get("code") == "stale-batch":
            return Answer(False, stale_through=int(answer.get("acked_through") or 0))
        if response.status_code != 200:
            return Answer(False, f"HTTP {response.status_code}: {answer.get('code', '')} "
                                 f"{answer.get('detail', response.text[:200])}")
        return Answer(True, assignments=answer.get("assignments") or [])


def _case_fields(body: dict[str, Any], photos: list[dict[str, Any]]) -> dict[str, Any]:
    case, payload = body.get("case") or {}, body.get("payload") or {}
    return {"case_number": case.get("number"), "case_local_id": case.get("id"), "matter_code": case.get("category_code"),
            "source": case.get("source"), "seq": body.get("seq"), "prev_seq": body.get("prev_seq"),
            "action": body.get("action"), "actor_role": body.get("actor_role"), "from_stage": body.get("from_stage"),
            "to_stage": body.get("to_stage"), "stage": case.get("stage"), "district_code": case.get("district_code"),
            "street_code": case.get("street_code"), "grid_code": case.get("grid_code"), "lon": case.get("lon"),
            "lat": case.get("lat"), "address": case.get("address"), "description": case.get("description"),
            "urgent": case.get("urgent"), "node_due_at": case.get("node_due_at"),
            "required_due_at": case.get("required_due_at"), "overdue": case.get("overdue"),
            "rework_count": case.get("rework_count"), "reported_at": case.get("created_at"),
            "closed_at": case.get("closed_at"), "opinion": payload.get("note"),
            "department_code": payload.get("department_code"), "assignment_ref": payload.get("exchange_ref"),
            "photo_sha256": [p["sha256"] for p in photos]}


def _component_fields(data: dict[str, Any]) -> dict[str, Any]:
    return {"component_id": data.get("id"), "component_type_code": data.get("type_code"),
            "component_name": data.get("name"), "component_state": data.get("state"), "change_type": data.get("op"),
            "grid_code": data.get("grid_code"), "lon": data.get("lon"), "lat": data.get("lat"),
            "competent_unit_code": data.get("competent"), "owner_unit_code": data.get("owner"),
            "maintainer_unit_code": data.get("maintainer"), "initial_date": data.get("initial_date"),
            "change_date": data.get("change_date"), "data_source": data.get("data_source")}


def _alarm_fields(data: dict[str, Any]) -> dict[str, Any]:
    return {"device_id": data.get("device"), "device_type": data.get("device_type"),
            "device_name": data.get("device_name"), "component_id": data.get("component_id"),
            "grid_code": data.get("grid_code"), "lon": data.get("lon"), "lat": data.get("lat"),
            "alarm_rule": data.get("rule"), "alarm_level": data.get("level"), "alarm_state": data.get("state"),
            "alarm_change": data.get("change"), "value": data.get("value"), "peak_value": data.get("peak_value"),
            "raised_at": data.get("raised_at"), "acknowledged_at": data.get("acknowledged_at"),
            "cleared_at": data.get("cleared_at"), "case_number": data.get("case_number")}


def _assessment_fields(key: str | None, data: dict[str, Any]) -> dict[str, Any]:
    return {"period": key, **{k: data.get(k) for k in ("reported", "valid", "closed", "closed_on_time", "reworked",
                                                       "close_rate", "on_time_close_rate", "rework_rate")}}


def national_record(body: dict[str, Any], created_at: str, photos: list[dict[str, Any]]) -> dict[str, Any]:
    """One outbox message in the generic layout: category, type, ids and times, flat fields."""
    category, code, kind = CATEGORIES[body["kind"]]
    if kind == "case_event":
        fields = _case_fields(body, photos)
    elif kind == "component":
        fields = _component_fields(body.get("data") or {})
    elif kind == "alarm":
        fields = _alarm_fields(body.get("data") or {})
    else:
        fields = _assessment_fields(body.get("key"), body.get("data") or {})
    return {"record_id": body["event_id"], "category": category, "category_code": code, "record_type": kind,
            "object_key": body.get("key") or (fields.get("case_number") if kind == "case_event" else None),
            "occurred_at": body.get("at"), "written_at": created_at, "fields": fields}


class NationalJson:
    """The generic JSON layout for a provincial/national upstream that is not a CityLoop (docs/exchange.md)."""

    name = "national-json"

    def encode(self, platform: str, rows: Sequence[OutboxLine], photos: Photos, now: datetime) -> bytes:
        records = [national_record(json.loads(r.raw), r.created_at.isoformat(),
                                   photos.get((r.case_id, r.case_seq), []) if r.case_id is not None else [])
                   for r in rows]
        first, last = (rows[0].id, rows[-1].id) if rows else (0, 0)
        doc = {"interface": "cityloop-national-json", "version": NATIONAL_VERSION,
               "sender": {"platform_code": platform}, "batch": {"batch_id": f"{first}-{last}", "first_seq": first,
                                                               "last_seq": last, "sent_at": now.isoformat(),
                                                               "count": len(records)},
               "records": records}
        return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()

    def interpret(self, response: httpx.Response) -> Answer:
        if 200 <= response.status_code < 300:
            return Answer(True)
        return Answer(False, f"HTTP {response.status_code}: {response.text[:200]}")


class Adapter(Protocol):
    """What the sender needs of a wire format."""

    name: str

    def encode(self, platform: str, rows: Sequence[OutboxLine], photos: Photos, now: datetime) -> bytes: ...

    def interpret(self, response: httpx.Response) -> Answer: ...


ADAPTERS: dict[str, type[Adapter]] = {"cityloop": CityLoop, "national-json": NationalJson}


def adapter_for(settings: Settings) -> Adapter:
    """The configured adapter (default: another CityLoop)."""
    return ADAPTERS[getattr(settings, "exchange_adapter", "cityloop") or "cityloop"]()
