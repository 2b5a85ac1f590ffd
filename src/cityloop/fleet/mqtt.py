"""Positions forwarded over MQTT (platforms that relay their trucks): JSON payloads on settings.fleet_mqtt_topic —
one position, a list, or {"positions": [...]} in the shape of POST /api/v1/fleet/positions — go to the same
pipeline as the gateway's. Reconnects after broker failures."""

from __future__ import annotations

import asyncio
import json
import logging
from urllib.parse import urlparse

from pydantic import TypeAdapter, ValidationError

from cityloop.fleet.domain import Fix
from cityloop.fleet.ingest import Pipeline, fixes_from_json, json_positions
from cityloop.fleet.schemas import PositionIn
from cityloop.state import AppState

log = logging.getLogger("cityloop.fleet")
_POSITIONS = TypeAdapter(list[PositionIn])


def parse(payload: bytes, pipeline: Pipeline, plates: dict[str, int]) -> tuple[list[Fix], int]:
    """Fix tuples from one MQTT payload; a bad payload yields nothing (and is counted)."""
    try:
        items = _POSITIONS.validate_python(json_positions(payload))
    except (ValueError, ValidationError, json.JSONDecodeError):
        pipeline.stats["mqtt_bad_payloads"] += 1
        return [], 0
    return fixes_from_json(items, pipeline.terminals, plates)


async def subscribe(state: AppState, pipeline: Pipeline, retry_seconds: float = 5.0) -> None:
    """Subscribe and hand positions to the pipeline until cancelled."""
    import aiomqtt

    url = urlparse(state.settings.fleet_mqtt_url or "")  # set: subscribe runs only then
    topic = state.settings.fleet_mqtt_topic
    while True:
        try:
            async with aiomqtt.Client(url.hostname or "127.0.0.1", url.port or 1883, username=url.username,
                                      password=url.password, identifier=None) as client:
                await client.subscribe(topic, qos=1)
                log.info("fleet MQTT subscribed to %s on %s", topic, url.hostname)
                async for message in client.messages:
                    plates = {t.plate: t.vehicle_id for t in pipeline.terminals.values()}
                    fixes, unknown = parse(bytes(message.payload), pipeline, plates)
                    pipeline.stats["mqtt_unknown"] += unknown
                    if fixes:
                        pipeline.submit(fixes)
        except aiomqtt.MqttError as exc:
            log.warning("fleet MQTT connection lost (%s); retrying in %.0f s", exc, retry_seconds)
            await asyncio.sleep(retry_seconds)
