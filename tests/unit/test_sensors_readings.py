"""Reading validation and the MQTT message format: every refusal has its reason; simulator plans are stable."""

from __future__ import annotations

import json
import math

import pytest

from cityloop.sensors import simulate
from cityloop.sensors.readings import REASONS, DeviceRef, Reading, check, parse_message, parse_ts

NOW = 1_795_395_600.0  # 2026-11-23 09:00 +08:00
DEVICES = {"WL-1": DeviceRef(1, "WL-1", "waterlogging", True), "MC-1": DeviceRef(2, "MC-1", "manhole", True),
           "OLD": DeviceRef(3, "OLD", "dust", False)}


def c(item, topic=None):
    return check(item, DEVICES, NOW, 300, 90 * 86400, topic)


@pytest.mark.parametrize("item,reason", [
    ("text", "bad-shape"), ({"ts": NOW, "values": {"depth_cm": 1}}, "bad-shape"),
    ({"device_id": "X", "ts": NOW, "values": {"depth_cm": 1}}, "unknown-device"),
    ({"device_id": "OLD", "ts": NOW, "values": {"pm10": 1}}, "device-inactive"),
    ({"device_id": "WL-1", "ts": "yesterday", "values": {"depth_cm": 1}}, "bad-ts"),
    ({"device_id": "WL-1", "ts": "2026-11-23T09:00:00", "values": {"depth_cm": 1}}, "bad-ts"),
    ({"device_id": "WL-1", "ts": True, "values": {"depth_cm": 1}}, "bad-ts"),
    ({"device_id": "WL-1", "ts": NOW + 301, "values": {"depth_cm": 1}}, "future-ts"),
    ({"device_id": "WL-1", "ts": NOW - 91 * 86400, "values": {"depth_cm": 1}}, "stale-ts"),
    ({"device_id": "WL-1", "ts": NOW, "values": []}, "no-values"),
    ({"device_id": "WL-1", "ts": NOW, "values": {"leq_db": 50}}, "unknown-metric"),
    ({"device_id": "WL-1", "ts": NOW, "values": {"depth": 5}}, "unknown-metric"),
    ({"device_id": "WL-1", "ts": NOW, "values": {"depth_cm": None}}, "wrong-type"),
    ({"device_id": "WL-1", "ts": NOW, "values": {"depth_cm": True}}, "wrong-type"),
    ({"device_id": "WL-1", "ts": NOW, "values": {"depth_cm": math.nan}}, "not-finite"),
    ({"device_id": "WL-1", "ts": NOW, "values": {"depth_cm": math.inf}}, "not-finite"),
    ({"device_id": "WL-1", "ts": NOW, "values": {"depth_cm": 5000}}, "out-of-range"),
    ({"device_id": "MC-1", "ts": NOW, "values": {"open": 2}}, "wrong-type"),
])
def test_refusals(item, reason):
    got = c(item)
    assert got.reason == reason and reason in REASONS


def test_good_readings():
    got = c({"device_id": "MC-1", "ts": "2026-11-23T09:00:00+08:00", "values": {"open": True, "tilt_deg": 3}})
    assert got == Reading(2, "MC-1", NOW, {"open": 1.0, "tilt_deg": 3.0})
    assert c({"ts": NOW * 1000, "values": {"depth_cm": 0}}, topic="WL-1").ts == NOW
    assert c({"device_id": "MC-1", "ts": NOW, "values": {"tilt_deg": 1}}, topic="WL-1").reason == "device-mismatch"
    assert parse_ts("2026-11-23T01:00:00Z") == NOW and parse_ts(float("nan")) is None and parse_ts(-5) is None


@pytest.mark.parametrize("topic,payload,reason,items", [
    ("cityloop/341122/devices/WL-1/telemetry", b'{"ts": 1, "values": {}}', None, 1),
    ("cityloop/341122/devices/WL-1/telemetry", b'[{"ts": 1}, {"ts": 2}]', None, 2),
    ("cityloop/341122/devices/WL-1/telemetry", b'{"readings": [{"ts": 1}]}', None, 1),
    ("cityloop/341122/devices/WL-1/telemetry", b"{", "bad-json", 0),
    ("cityloop/341122/devices/WL-1/telemetry", b'{"v": NaN}', "bad-json", 0),
    ("cityloop/341122/devices/WL-1/telemetry", b"\xff\xfe", "bad-json", 0),
    ("cityloop/341122/devices/WL-1/telemetry", json.dumps([{}] * 11).encode(), "batch-too-large", 0),
    ("cityloop/999999/devices/WL-1/telemetry", b"{}", "unknown-tenant", 0),
    ("cityloop/341122/devices//telemetry", b"{}", "bad-topic", 0),
    ("other/341122/devices/WL-1/telemetry", b"{}", "bad-topic", 0),
])
def test_messages(topic, payload, reason, items):
    code, got, reject = parse_message(topic, payload, "341122", 10)
    assert (reject.reason if reject else None) == reason and len(got) == items


def test_the_storm_plan_is_stable_and_complete():
    devices = [(f"W{i}", "waterlogging") for i in range(50)] + [(f"M{i}", "manhole") for i in range(100)] + [
        ("D1", "dust"), ("N1", "noise"), ("R1", "weather")]
    a, b = simulate.plan(devices, "rainstorm", 7), simulate.plan(devices, "rainstorm", 7)
    assert a == b and len(a.flooded) == 5 and len(a.opened) == 2 and a.dusty == {"D1"} and a.rainy == {"R1"}
    assert simulate.plan(devices, "calm") == simulate.Plan()
    ticks = list(simulate.ticks(devices, a, 0, 10, 60))
    assert len(ticks) == 11 and all(len(t) == len(devices) for t in ticks)
    peak = max(r["values"]["depth_cm"] for t in ticks for r in t if r["device_id"] in a.flooded)
    assert peak > 40
    with pytest.raises(ValueError):
        simulate.plan(devices, "earthquake")
