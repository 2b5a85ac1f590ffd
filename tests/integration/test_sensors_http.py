"""IoT monitoring over HTTP: a storm in, exactly its alarms, cases, dispatches, warnings and clears out; bad
input refused with a reason and counted; gateway authentication."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from tests.conftest import SHANGHAI
from tests.integration.sensors_kit import (  # noqa: F401
    GATEWAY_KEY, STORM_START, check_storm_outcome, fake_notifier, iso, post, sensor_settings, sensor_world, storm,
)


def test_a_rainstorm_over_http_yields_exactly_the_expected_alarms_cases_and_warnings(api, sensors, clock, login,
                                                                                        fake):
    plan, ticks = storm(sensors)
    assert plan.flooded and plan.opened and plan.dusty and plan.loud and plan.rainy
    for tick in ticks:
        clock.set(datetime.fromtimestamp(tick[0]["ts"], timezone.utc))
        out = post(api, [dict(r, ts=iso(clock)) for r in tick])
        assert out["accepted"] == len(tick) and out["rejected"] == []
    check_storm_outcome(api, login, plan, fake)


def test_the_same_storm_sent_twice_changes_nothing(api, sensors, clock, login, fake):
    plan, ticks = storm(sensors, minutes=40)
    for tick in ticks:
        clock.set(datetime.fromtimestamp(tick[0]["ts"], timezone.utc))
        post(api, tick)
    before = api.get("/api/v1/sensors/alarms", headers=login("lead1")).json()
    again = post(api, [r for tick in ticks for r in tick][:500])
    assert again["stored"] == 0 and again["alarms"] == []
    assert api.get("/api/v1/sensors/alarms", headers=login("lead1")).json() == before


BAD = [
    ({"device_id": "NOPE", "ts": "2026-11-23T09:00:00+08:00", "values": {"depth_cm": 1}}, "unknown-device"),
    ({"device_id": "WL-1", "ts": "2026-11-23T09:00:00+08:00", "values": {"depth_cm": "deep"}}, "wrong-type"),
    ({"device_id": "WL-1", "ts": "2026-11-23T09:00:00+08:00", "values": {"depth_cm": 12345.678}}, "not-finite"),
    ({"device_id": "WL-1", "ts": "2026-11-23T09:00:00+08:00", "values": {"pm10": 80}}, "unknown-metric"),
    ({"device_id": "WL-1", "ts": "2026-11-23T09:00:00+08:00", "values": {"depth_cm": -4}}, "out-of-range"),
    ({"device_id": "WL-1", "ts": "2026-11-23T12:00:00+08:00", "values": {"depth_cm": 1}}, "future-ts"),
    ({"device_id": "WL-1", "ts": "2026-11-23T09:00:00", "values": {"depth_cm": 1}}, "bad-ts"),
    ({"device_id": "WL-1", "ts": "2026-11-23T09:00:00+08:00", "values": {}}, "no-values"),
    ({"device_id": "MC-1", "ts": "2026-11-23T09:00:00+08:00", "values": {"open": "yes"}}, "wrong-type"),
    (["not", "an", "object"], "bad-shape"),
]


def test_bad_readings_are_refused_with_a_reason_counted_and_never_stored(api, sensors, login):
    good = {"device_id": "WL-1", "ts": "2026-11-23T09:00:00+08:00", "values": {"depth_cm": 3}}
    body = json.dumps({"readings": [r for r, _ in BAD] + [good, good]}).replace("12345.678", "1e400")  # → inf
    res = api.post("/api/v1/telemetry", content=body, headers={"X-Gateway-Key": GATEWAY_KEY})
    assert res.status_code == 200
    out = res.json()
    assert out["accepted"] == 1 and out["stored"] == 1
    got = {(r["index"], r["reason"]) for r in out["rejected"]}
    assert got == {(i, reason) for i, (_, reason) in enumerate(BAD)} | {(-1, "duplicate")}
    assert all(r["message"] for r in out["rejected"])
    stats = api.get("/api/v1/sensors/stats", headers=login("operator1")).json()["counters"]
    assert stats["accepted"] == 1 and stats["rejected:wrong-type"] == 2 and stats["rejected:not-finite"] == 1
    points = api.get("/api/v1/sensors/devices/WL-1/readings", params={"metric": "depth_cm", "step": "raw"},
                     headers=login("operator1")).json()["points"]
    assert [p[1] for p in points] == [3.0]


@pytest.mark.parametrize("content,status,code", [
    (b"{not json", 422, "bad-json"), (b'{"readings": [{"device_id": "WL-1", "values": {"depth_cm": NaN}}]}', 422,
                                      "bad-json"),
    (b'{"readings": {"device_id": "WL-1"}}', 422, "bad-shape"), (b"[]", 422, "bad-shape"),
])
def test_malformed_bodies_are_problems_and_counted(api, sensors, login, content, status, code):
    res = api.post("/api/v1/telemetry", content=content, headers={"X-Gateway-Key": GATEWAY_KEY,
                                                                  "Content-Type": "application/json"})
    assert res.status_code == status and res.json()["code"] == code
    stats = api.get("/api/v1/sensors/stats", headers=login("operator1")).json()["counters"]
    assert stats[f"rejected:{code}"] == 1


def test_a_huge_batch_is_refused_whole(api, sensors, settings, login):
    reading = {"device_id": "WL-1", "ts": "2026-11-23T09:00:00+08:00", "values": {"depth_cm": 1}}
    res = api.post("/api/v1/telemetry", json={"readings": [reading] * (settings.sensor_max_batch + 1)},
                   headers={"X-Gateway-Key": GATEWAY_KEY})
    assert res.status_code == 413 and res.json()["code"] == "batch-too-large"
    assert api.get("/api/v1/sensors/stats", headers=login("operator1")).json()["counters"].get("accepted") is None


def test_only_gateways_and_admins_send_telemetry(api, sensors, login):
    body = {"readings": [{"device_id": "WL-1", "ts": "2026-11-23T09:00:00+08:00", "values": {"depth_cm": 1}}]}
    assert api.post("/api/v1/telemetry", json=body).status_code == 401
    assert api.post("/api/v1/telemetry", json=body, headers={"X-Gateway-Key": "wrong"}).status_code == 401
    assert api.post("/api/v1/telemetry", json=body, headers=login("operator1")).status_code == 403
    assert api.post("/api/v1/telemetry", json=body, headers=login("admin")).json()["accepted"] == 1


def test_epoch_timestamps_in_seconds_and_milliseconds(api, sensors, clock):
    now = clock.now().timestamp()
    out = post(api, [{"device_id": "RG-1", "ts": now, "values": {"rain_mm_h": 1}},
                     {"device_id": "RG-1", "ts": int(now * 1000) - 60_000, "values": {"rain_mm_h": 2}}])
    assert out["stored"] == 2
    assert datetime.fromtimestamp(now, timezone.utc).astimezone(SHANGHAI).hour == 9
