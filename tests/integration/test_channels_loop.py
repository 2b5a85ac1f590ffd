"""Every channel's report runs the whole loop to 结案 with its source recorded (the assessment splits by it)."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from tests.conftest import SHANGHAI
from tests.integration.test_channels_public import jpeg


def _photo():
    return [("photos", ("p.jpg", jpeg(), "image/jpeg"))]


def _inspector(api, login, lon, lat, settings):
    body = {"category_code": "06010", "lon": lon, "lat": lat, "description": "巡查发现"}
    return api.post("/api/v1/cases", data={"data": json.dumps(body)}, files=_photo(), headers=login("inspector01")).json()["id"]


def _hotline(api, login, lon, lat, settings):
    body = {"category_code": "06010", "lon": lon, "lat": lat, "description": "来电", "source": "hotline"}
    return api.post("/api/v1/cases", json=body, headers=login("operator1")).json()["id"]


def _public(api, login, lon, lat, settings):
    r = api.post("/api/v1/channels/public/reports", data={"lon": lon, "lat": lat, "description": "垃圾"}, files=_photo())
    assert r.status_code == 201
    return api.get("/api/v1/cases?source=public", headers=login("lead1")).json()["items"][0]["id"]


def _open311(api, login, lon, lat, settings):
    r = api.post("/open311/v2/requests.json", data={"api_key": "demo", "service_code": "06010", "lat": lat, "long": lon})
    assert r.status_code == 200 and r.json()[0]["service_request_id"]  # a random public id, not the case number
    return api.get("/api/v1/cases?source=open311", headers=login("lead1")).json()["items"][0]["id"]


def _video(api, login, lon, lat, settings):
    settings.video_event_categories = {"garbage": "06010"}
    api.put("/api/v1/channels/cameras/C1", json={"name": "路口", "lon": lon, "lat": lat}, headers=login("admin"))
    body = {"camera_id": "C1", "event_type": "garbage", "confidence": 0.5, "captured_at": "2026-11-23T08:00:00+08:00"}
    return api.post("/api/v1/intake/video", data={"data": json.dumps(body)},
                    files=[("snapshot", ("s.jpg", jpeg(), "image/jpeg"))], headers={"X-Api-Key": "demo"}).json()["case_id"]


def _assigned(api, login, lon, lat, settings):
    due = datetime(2026, 11, 25, 17, 0, tzinfo=SHANGHAI).isoformat()
    body = {"category_code": "06010", "lon": lon, "lat": lat, "description": "交办", "assigned_by": "市平台",
            "required_due_at": due}
    return api.post("/api/v1/intake/assigned", json=body, headers={"X-Api-Key": "demo"}).json()["case_id"]


@pytest.mark.parametrize("source, make, verify", [
    ("inspector", _inspector, False), ("hotline", _hotline, True), ("public", _public, True),
    ("open311", _open311, True), ("video", _video, True), ("assigned", _assigned, False)])
def test_each_channel_reaches_closed(api, login, world, settings, source, make, verify):
    lon, lat = world.point("341122100001003")
    case_id = make(api, login, lon, lat, settings)
    steps = [("operator1", "accept", {})] + ([("inspector01", "verify_ok", {})] if verify else []) + [
        ("lead1", "file", {}), ("dispatcher1", "dispatch", {"department_code": "d01"}),
        ("d01", "handle", {"result": "已处置"}), ("inspector01", "check_ok", {}), ("lead1", "close", {})]
    for user, action, body in steps:
        r = api.post(f"/api/v1/cases/{case_id}/actions/{action}", json=body, headers=login(user))
        assert r.status_code == 200, (source, action, r.text)
    assert (r.json()["stage"], r.json()["source"]) == ("closed", source)
