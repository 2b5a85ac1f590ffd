"""Alarm lifecycle: acknowledge, re-trigger onto the same case, per-device overrides, offline, state that
survives a restart, rollups and retention, notices retried, and the pages."""

from __future__ import annotations

from datetime import timedelta

from cityloop.state import app_state
from cityloop.sensors import store
from cityloop.sensors.notify import Fake, Outbox
from cityloop.sensors.pipeline import Ingestor
from cityloop.sensors.service import get_ingestor, run_jobs
from tests.integration.sensors_kit import fake_notifier, iso, post, sensor_settings, sensor_world  # noqa: F401


def flood(api, clock, depths, device="WL-1"):
    """Send one depth a minute; returns every alarm transition."""
    out = []
    for depth in depths:
        clock.advance(minutes=1)
        out += post(api, [{"device_id": device, "ts": iso(clock), "values": {"depth_cm": depth}}])["alarms"]
    return out


def test_acknowledge_then_clear(api, sensors, clock, login):
    flood(api, clock, [30, 30])
    alarm = api.get("/api/v1/sensors/alarms", params={"state": "active", "rule": "water_depth"},
                    headers=login("lead1")).json()[0]
    assert alarm["state"] == "active" and alarm["case_number"]
    assert api.post(f"/api/v1/sensors/alarms/{alarm['id']}/acknowledge", json={},
                    headers=login("inspector01")).status_code == 403
    acked = api.post(f"/api/v1/sensors/alarms/{alarm['id']}/acknowledge", json={"note": "已通知泵站"},
                     headers=login("dispatcher1")).json()
    assert acked["state"] == "acknowledged" and acked["acknowledged_by"] == "dispatcher1"
    again = api.post(f"/api/v1/sensors/alarms/{alarm['id']}/acknowledge", json={}, headers=login("dispatcher1"))
    assert again.status_code == 409 and again.json()["code"] == "alarm-not-active"
    assert api.get("/api/v1/sensors/alarms", params={"state": "active", "acknowledged": "false"},
                   headers=login("lead1")).json() == []
    flood(api, clock, [1] * 7)
    history = api.get(f"/api/v1/sensors/alarms/{alarm['id']}/events", headers=login("lead1")).json()
    assert [e["kind"] for e in history] == ["raise", "case", "warning", "acknowledge", "clear"]
    assert api.post("/api/v1/sensors/alarms/999999/acknowledge", json={}, headers=login("lead1")).status_code == 404


def test_a_retrigger_within_the_window_joins_the_same_case(api, sensors, clock, login):
    flood(api, clock, [30, 30] + [1] * 7)
    flood(api, clock, [35, 35] + [1] * 7)
    alarms = api.get("/api/v1/sensors/alarms", params={"rule": "water_depth"}, headers=login("lead1")).json()
    assert len(alarms) == 2 and alarms[0]["case_id"] == alarms[1]["case_id"]
    events = api.get(f"/api/v1/cases/{alarms[0]['case_id']}/events", headers=login("lead1")).json()
    notes = [e["payload"]["note"] for e in events if e["action"] == "annotate"]
    assert [n[:6] for n in notes] == ["报警已解除：", "报警再次触发", "报警已解除："]
    clock.advance(hours=3)  # outside the window: a new case
    flood(api, clock, [30, 30])
    latest = api.get("/api/v1/sensors/alarms", params={"rule": "water_depth", "state": "active"},
                     headers=login("lead1")).json()[0]
    assert latest["case_id"] not in (None, alarms[0]["case_id"])


def test_a_device_override_changes_its_thresholds(api, sensors, clock, login):
    res = api.patch("/api/v1/sensors/devices/WL-2", json={"rule_overrides": {"water_depth": {
        "levels": [["yellow", 10]], "k": 1, "m": 1}}}, headers=login("admin"))
    assert res.status_code == 200
    assert flood(api, clock, [12], device="WL-2")[0]["level"] == "yellow"
    assert flood(api, clock, [12], device="WL-1") == []
    bad = api.patch("/api/v1/sensors/devices/WL-2", json={"rule_overrides": {"water_depth": {"levels": [["x", 1]]}}},
                    headers=login("admin"))
    assert bad.status_code == 422 and bad.json()["code"] == "bad-rule-override"


def test_offline_devices_are_flagged_and_come_back(app, api, sensors, clock, login):
    post(api, [{"device_id": "WL-1", "ts": iso(clock), "values": {"depth_cm": 1}}])
    ingestor = get_ingestor(app_state(app))
    ingestor.flush_state()
    clock.advance(minutes=31)
    run_jobs(ingestor, clock.now())
    offline = {a["device"] for a in api.get("/api/v1/sensors/alarms", params={"rule": "offline", "state": "active"},
                                            headers=login("lead1")).json()}
    assert "WL-1" in offline and all(a["case_id"] is None for a in api.get(
        "/api/v1/sensors/alarms", params={"rule": "offline"}, headers=login("lead1")).json())
    devices = {d["code"]: d for d in api.get("/api/v1/sensors/devices", headers=login("lead1")).json()}
    assert devices["WL-1"]["status"] == "offline"
    post(api, [{"device_id": "WL-1", "ts": iso(clock), "values": {"depth_cm": 1}}])
    ingestor.flush_state()
    alarms = api.get("/api/v1/sensors/alarms", params={"rule": "offline", "device": "WL-1"},
                     headers=login("lead1")).json()
    assert [a["state"] for a in alarms] == ["cleared"]
    devices = {d["code"]: d for d in api.get("/api/v1/sensors/devices", headers=login("lead1")).json()}
    assert devices["WL-1"]["status"] == "normal" and devices["WL-1"]["last_values"] == {"depth_cm": 1.0}


def test_rule_state_survives_a_restart(app, api, sensors, clock, settings, session_factory):
    post(api, [{"device_id": "WL-1", "ts": iso(clock), "values": {"depth_cm": 30}}])  # 1 of 2 needed
    get_ingestor(app_state(app)).flush_state()
    fresh = Ingestor(session_factory, settings, clock)
    clock.advance(minutes=1)
    result = fresh.ingest_items([{"device_id": "WL-1", "ts": iso(clock), "values": {"depth_cm": 30}}])
    assert [(o.rule, o.kind) for o in result.outcomes] == [("water_depth", "raise")]


def test_rollups_series_and_retention(app, api, sensors, clock, login, session):
    start = clock.now() - timedelta(hours=2)
    readings = [{"device_id": "DU-1", "ts": (start + timedelta(minutes=i)).isoformat(),
                 "values": {"pm10": 50 + i % 10, "pm25": 20}} for i in range(120)]
    post(api, readings)
    result = run_jobs(get_ingestor(app_state(app)), clock.now())
    assert result["rollups"] > 0
    minutes = api.get("/api/v1/sensors/devices/DU-1/readings", params={"metric": "pm10", "step": "1m"},
                      headers=login("lead1")).json()["points"]
    hours = api.get("/api/v1/sensors/devices/DU-1/readings", params={
        "metric": "pm10", "step": "1h", "start": int(start.timestamp() * 1000) - 3_600_000},
        headers=login("lead1")).json()["points"]
    assert len(minutes) == 120 and sum(p[1] for p in minutes) / 120 == 54.5
    assert 2 <= len(hours) <= 3 and min(p[2] for p in hours) == 50 and max(p[3] for p in hours) == 59
    bad = api.get("/api/v1/sensors/devices/DU-1/readings", params={"metric": "nope"}, headers=login("lead1"))
    assert bad.status_code == 422
    now_ms = int(clock.now().timestamp() * 1000)
    store.retention(session, now_ms + 130 * 86_400_000, 90, 730)  # PostgreSQL drops whole months
    session.commit()
    raw = api.get("/api/v1/sensors/devices/DU-1/readings", params={"metric": "pm10", "step": "raw"},
                  headers=login("lead1")).json()["points"]
    assert raw == []


def test_notices_are_retried_and_never_block(settings):
    channel = Fake(fail_first=2)
    outbox = Outbox(settings, {"sms": channel, "webhook": channel}, backoff=0.01)
    from cityloop.sensors.alarms import Notice

    outbox([Notice("d01", "积水", "北门下穿通道积水")])
    outbox.drain()
    assert sorted(a for a, _, _ in channel.sent) == ["13800000001", "http://hook"]


def test_pages(api, sensors, clock, login):
    flood(api, clock, [45, 45])
    page = api.get("/public/warnings")
    assert page.status_code == 200 and "北门下穿通道积水" in page.text and "暂停通行" in page.text
    assert "Flooded" in api.get("/public/warnings?lang=en").text
    console = api.get("/console/sensors", headers=login("dispatcher1"))
    assert console.status_code == 200 and "WL-1" in console.text and 'class="ack"' in console.text
    assert api.get("/console/sensors", follow_redirects=False).status_code == 303


def test_another_transport_hands_in_validated_readings(app, api, sensors, clock, login):
    from cityloop.sensors.readings import check

    ingestor = get_ingestor(app_state(app))
    ingestor.accept([])  # loads the registry
    readings = []
    for minute in (1, 2):
        item = {"device_id": "DU-1", "ts": (clock.now() + timedelta(minutes=minute)).timestamp(),
                "values": {"pm10": 80.0}}
        readings.append(check(item, ingestor.refs, clock.now().timestamp(), 300, 86400))
    result = ingestor.accept(readings)
    assert (result.accepted, result.stored) == (2, 2)
    points = api.get("/api/v1/sensors/devices/DU-1/readings", params={"metric": "pm10", "step": "raw"},
                     headers=login("lead1")).json()["points"]
    assert [p[1] for p in points] == [80.0, 80.0]
