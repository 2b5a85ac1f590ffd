"""The other channels through HTTP: video captures (repeats, confidence, retries), 上级交办 with its deadline, the
inspector's reports and pings (offline replays), hotline geocoding and nearby cases, duplicates merged in one action,
and photo evidence flags."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta

import pytest
from PIL import Image

from cityloop.state import app_state
from cityloop.cases.models import Case
from cityloop.channels.models import CameraEvent, GazetteerEntry, PhotoEvidence
from tests.conftest import SHANGHAI
from tests.integration.test_channels_public import jpeg

VIDEO = "/api/v1/intake/video"


@pytest.fixture(autouse=True)
def _small_catalog(settings):
    """The test world knows three matters; map the camera events onto them."""
    settings.video_event_categories = {"waste_pile": "06010", "garbage": "06010", "illegal_parking": "09006"}


def camera(api, login, world, code="CAM-001", grid="341122100001003"):
    lon, lat = world.point(grid)
    r = api.put(f"/api/v1/channels/cameras/{code}", json={"name": "北门工地1号", "site": "北门工地", "lon": lon, "lat": lat},
                headers=login("admin"))
    assert r.status_code == 200, r.text
    return r.json()


def capture(api, minutes=0, confidence=0.95, event_type="waste_pile", event_id=None, key="demo", colour=(90, 90, 90)):
    at = datetime(2026, 11, 23, 8, 30, tzinfo=SHANGHAI) + timedelta(minutes=minutes)
    body = {"camera_id": "CAM-001", "event_type": event_type, "confidence": confidence, "captured_at": at.isoformat()}
    if event_id:
        body["event_id"] = event_id
    files = [("snapshot", ("s.jpg", jpeg(colour), "image/jpeg"))]
    return api.post(VIDEO, data={"data": json.dumps(body)}, files=files, headers={"X-Api-Key": key})


def test_video_repeats_note_one_case_and_low_confidence_is_verified(api, login, world, session):
    assert camera(api, login, world)["duty_grid_code"] == "DG01"
    first = capture(api, event_id="e1")
    assert first.status_code == 201, first.text
    case_id = first.json()["case_id"]
    assert not first.json()["needs_verification"]
    again = capture(api, minutes=30, event_id="e2")
    assert again.status_code == 200 and again.json() == {**again.json(), "case_id": case_id, "repeat": True}
    retry = capture(api, minutes=30, event_id="e2")  # the analytics system resent the same event
    assert retry.status_code == 200 and retry.json()["case_id"] == case_id
    events = api.get(f"/api/v1/cases/{case_id}/events", headers=login("lead1")).json()
    assert [e["action"] for e in events] == ["report", "annotate"] and events[1]["payload"]["repeat"]
    assert len(api.get(f"/api/v1/cases/{case_id}/photos", headers=login("lead1")).json()) == 2
    later = capture(api, minutes=400, confidence=0.5)  # outside the window and unsure: a new case, verified first
    assert later.status_code == 201 and later.json()["case_id"] != case_id and later.json()["needs_verification"]
    other = capture(api, minutes=31, event_type="illegal_parking")
    assert other.status_code == 201 and other.json()["case_id"] not in (case_id, later.json()["case_id"])
    assert session.query(CameraEvent).count() == 4 and session.query(Case).count() == 3
    case = session.get(Case, case_id)
    assert (case.source, case.category_code, case.grid_code) == ("video", "06010", "341122100001003")


def test_video_drives_a_case_to_closed(api, login, world):
    camera(api, login, world)
    case_id = capture(api).json()["case_id"]
    for user, action, body in [("operator1", "accept", {}), ("lead1", "file", {}),
                               ("dispatcher1", "dispatch", {"department_code": "d02"}), ("d02", "handle", {"result": "清理"}),
                               ("inspector01", "check_ok", {}), ("lead1", "close", {})]:
        r = api.post(f"/api/v1/cases/{case_id}/actions/{action}", json=body, headers=login(user))
        assert r.status_code == 200, (action, r.text)
    assert r.json()["stage"] == "closed"
    assert capture(api, minutes=5).json()["case_id"] != case_id  # a closed case is not reopened by a repeat


def test_video_bad_input(api, login, world, session):
    camera(api, login, world)
    assert capture(api, key="wrong").status_code == 403
    assert capture(api, event_type="ufo").json()["code"] == "unknown-event-type"
    body = {"camera_id": "CAM-404", "event_type": "garbage", "confidence": 0.9, "captured_at": "2026-11-23T08:00:00+08:00",
            "snapshot_base64": base64.b64encode(jpeg()).decode()}
    assert api.post(VIDEO, json=body, headers={"X-Api-Key": "demo"}).json()["code"] == "unknown-camera"
    body["camera_id"] = "CAM-001"
    assert api.post(VIDEO, json={**body, "snapshot_base64": "%%%"}, headers={"X-Api-Key": "demo"}).status_code == 422
    assert api.post(VIDEO, json={**body, "confidence": 2}, headers={"X-Api-Key": "demo"}).status_code == 422
    huge = base64.b64encode(jpeg() + b"\0" * (20 * 1024 * 1024)).decode()
    assert api.post(VIDEO, json={**body, "snapshot_base64": huge}, headers={"X-Api-Key": "demo"}).status_code == 413
    ok = api.post(VIDEO, json=body, headers={"X-Api-Key": "demo"})  # JSON with base64 works too
    assert ok.status_code == 201 and session.query(Case).count() == 1


def test_assignment_keeps_its_deadline_and_is_idempotent(api, login, world, session):
    lon, lat = world.point("341122100001001")
    due = datetime(2026, 11, 24, 17, 0, tzinfo=SHANGHAI)
    body = {"category_code": "06010", "lon": lon, "lat": lat, "description": "市领导交办：北门垃圾", "assigned_by": "市数字城管平台",
            "required_due_at": due.isoformat(), "external_ref": "SZ-2026-001"}
    r = api.post("/api/v1/intake/assigned", json=body, headers={"X-Api-Key": "demo"})
    assert r.status_code == 201, r.text
    assert api.post("/api/v1/intake/assigned", json=body, headers={"X-Api-Key": "demo"}).json()["case_id"] == r.json()["case_id"]
    case_id = r.json()["case_id"]
    for user, action, extra in [("operator1", "accept", {}), ("lead1", "file", {}),
                                ("dispatcher1", "dispatch", {"department_code": "d01"})]:
        got = api.post(f"/api/v1/cases/{case_id}/actions/{action}", json=extra, headers=login(user)).json()
    assert got["node"] == "handle" and got["node_due_at"] == "2026-11-24T17:00:00+08:00"
    assert session.get(Case, case_id).source == "assigned"
    by_leader = api.post("/api/v1/intake/assigned", json={**body, "external_ref": None}, headers=login("leader1"))
    assert by_leader.status_code == 201 and session.get(Case, by_leader.json()["case_id"]).reporter_id == world.users["leader1"].id
    assert api.post("/api/v1/intake/assigned", json=body, headers=login("operator1")).status_code == 403
    assert api.post("/api/v1/intake/assigned", json=body).status_code == 401
    past = {**body, "external_ref": "x2", "required_due_at": "2026-11-01T00:00:00+08:00"}
    assert api.post("/api/v1/intake/assigned", json=past, headers={"X-Api-Key": "demo"}).json()["code"] == "deadline-passed"


def test_inspector_offline_replay_creates_each_case_once(api, login, world, session):
    lon, lat = world.point("341122100001002")
    headers = login("inspector01")
    reports = [{"category_code": "06010", "lon": lon, "lat": lat, "description": f"巡查发现垃圾 {i}"} for i in range(3)]
    for _ in range(2):  # the phone came online twice and sent its whole outbox both times
        for i, body in enumerate(reports):
            files = [("photos", ("p.jpg", jpeg((i, 50, 50)), "image/jpeg"))]
            r = api.post("/api/v1/cases", data={"data": json.dumps(body)}, files=files,
                         headers={**headers, "Idempotency-Key": f"outbox-{i}"})
            assert r.status_code in (200, 201), r.text
    assert session.query(Case).filter_by(source="inspector").count() == 3
    pings = [{"lon": lon, "lat": lat, "accuracy_m": 8, "at": "2026-11-23T08:40:00+08:00"},
             {"lon": lon - 0.001, "lat": lat, "at": "2026-11-23T08:50:00+08:00"}]
    assert api.post("/api/v1/channels/pings", json={"pings": pings}, headers=headers).json() == {"stored": 2}
    far = [{"lon": lon, "lat": lat, "at": "2026-12-23T08:50:00+08:00"}]
    assert api.post("/api/v1/channels/pings", json={"pings": far}, headers=headers).status_code == 422
    day = api.get("/api/v1/channels/patrol", headers=headers).json()
    assert (day["pings"], day["grids_total"], day["grids_visited"], day["reported"]) == (2, 4, 2, 3)
    assert 0.09 < day["track_km"] < 0.1 and day["coverage"] == 0.5
    assert api.get("/api/v1/channels/patrol?username=inspector02", headers=headers).status_code == 403
    assert api.get("/api/v1/channels/patrol?username=inspector01", headers=login("leader1")).status_code == 200
    suggestions = api.get(f"/api/v1/channels/categories/suggest?lon={lon}&lat={lat}", headers=headers).json()
    assert suggestions[0] == {"code": "06010", "name": "暴露垃圾", "major_name": "市容环境类", "reason": "recent"}
    assert {s["code"] for s in suggestions} == {"06010", "09006", "01001"}


def test_geocode_ranks_and_hotline_sees_nearby_cases(api, login, world, session):
    lon, lat = world.point("341122100001001")
    session.add_all([GazetteerEntry(name="人民路", kind="road", lon=lon, lat=lat, source="t"),
                     GazetteerEntry(name="人民医院", kind="poi", alias="县医院", lon=lon, lat=lat, source="t"),
                     GazetteerEntry(name="新人民广场", kind="poi", lon=lon, lat=lat, source="t")])
    session.commit()
    names = [c["name"] for c in api.get("/api/v1/geo/geocode?q=人民").json()]
    assert names == ["人民医院", "人民路", "新人民广场"]  # prefix matches (a POI before a road), then substring
    best = api.get("/api/v1/geo/geocode?q=人民路128号旁").json()[0]
    assert best["name"] == "人民路" and best["grid_code"] == "341122100001001"
    assert api.get("/api/v1/geo/geocode?q=县医院").json()[0]["name"] == "人民医院"
    assert api.get("/api/v1/geo/geocode?q=火星").json() == []
    body = {"category_code": "06010", "lon": lon, "lat": lat, "description": "来电：门口垃圾", "source": "hotline",
            "reporter_phone": "13911112222", "reporter_name": "李先生"}
    first = api.post("/api/v1/cases", json=body, headers=login("operator1")).json()
    near = api.get(f"/api/v1/channels/nearby?lon={lon}&lat={lat}&category_code=06010", headers=login("operator1")).json()
    assert [c["number"] for c in near] == [first["number"]] and near[0]["distance_m"] == 0
    assert api.get(f"/api/v1/channels/nearby?lon={lon}&lat={lat}", headers=login("d01")).status_code == 403


def test_duplicates_are_suggested_and_merged_in_one_action(api, login, world):
    lon, lat = world.point("341122100001001")
    body = {"category_code": "06010", "lon": lon, "lat": lat, "description": "垃圾", "source": "hotline"}
    parent = api.post("/api/v1/cases", json=body, headers=login("operator1")).json()
    other_kind = api.post("/api/v1/cases", json={**body, "category_code": "09006"}, headers=login("operator1")).json()
    files = [("photos", ("p.jpg", jpeg(), "image/jpeg"))]
    data = {"lon": str(lon + 0.0003), "lat": str(lat), "description": "垃圾没人管", "category_code": "06010"}
    code = api.post("/api/v1/channels/public/reports", data=data, files=files).json()["tracking_code"]
    review = api.get("/api/v1/channels/review", headers=login("operator1")).json()
    mine = next(r for r in review if r["tracking_code"] == code)
    assert [d["number"] for d in mine["duplicates"]] == [parent["number"]]
    assert 20 < mine["duplicates"][0]["distance_m"] < 40 and other_kind["number"] not in str(mine["duplicates"])
    dup = api.get(f"/api/v1/channels/cases/{mine['id']}/duplicates", headers=login("operator1")).json()
    assert [d["number"] for d in dup] == [parent["number"]]
    merged = api.post(f"/api/v1/cases/{mine['id']}/actions/merge", json={"target_case": parent["number"]},
                      headers=login("operator1"))
    assert merged.json()["stage"] == "merged"
    status = api.get(f"/api/v1/channels/public/reports/{code}").json()
    assert status["merged_into_parent"] and status["stage"] == "reported"
    api.post(f"/api/v1/cases/{parent['id']}/actions/accept", headers=login("operator1"))
    status = api.get(f"/api/v1/channels/public/reports/{code}").json()
    assert status["stage"] == "verifying" and [s["text"] for s in status["steps"]][-2:] == [
        "与其他上报合并处理", "已受理"]


def _exif(lon: float, lat: float, when: str) -> Image.Exif:
    exif = Image.Exif()
    exif[306] = when
    def dms(v: float):
        d = int(v); m = int((v - d) * 60); s = round(((v - d) * 60 - m) * 60, 2)
        return (float(d), float(m), float(s))
    exif[0x8825] = {1: "N", 2: dms(lat), 3: "E", 4: dms(lon)}
    return exif


def test_photo_evidence_flags_far_old_and_reused_photos(api, login, world, session):
    lon, lat = world.point("341122100001001")
    good = jpeg(pattern=1, exif=_exif(lon, lat, "2026:11:23 08:55:00"))
    far_old = jpeg(pattern=1, size=(300, 225), exif=_exif(lon + 0.05, lat, "2026:11:01 08:00:00"))  # resized copy
    def report(photo, desc):
        body = {"category_code": "06010", "lon": lon, "lat": lat, "description": desc}
        r = api.post("/api/v1/cases", data={"data": json.dumps(body)}, files=[("photos", ("p.jpg", photo, "image/jpeg"))],
                     headers=login("inspector01"))
        assert r.status_code == 201, r.text
        return r.json()["id"]
    first, second = report(good, "第一次"), report(far_old, "换个地方的旧照片")
    ev = api.get(f"/api/v1/channels/cases/{first}/evidence", headers=login("operator1")).json()
    assert ev[0]["flags"] == [] and ev[0]["distance_m"] < 1 and ev[0]["gap_minutes"] == 5.0
    ev = api.get(f"/api/v1/channels/cases/{second}/evidence", headers=login("operator1")).json()
    assert set(ev[0]["flags"]) == {"far-from-report", "taken-long-before", "reused-photo"}
    assert ev[0]["matches"][0]["case_id"] == first and "与其他案件的照片相同" in ev[0]["flag_names"]
    assert session.query(PhotoEvidence).count() == 2
    plain = report(jpeg(pattern=2, size=(100, 80)), "无 EXIF")
    flags = api.get(f"/api/v1/channels/cases/{plain}/evidence", headers=login("operator1")).json()[0]["flags"]
    assert flags == ["no-exif-position", "no-exif-time"]
    assert api.get(f"/api/v1/channels/cases/{plain}/evidence", headers=login("d02")).status_code == 404


def test_the_server_task_checks_new_photos_and_forgets_old_counters(api, app, login, world, session, clock):
    from cityloop.channels import tasks
    from cityloop.channels.models import RateLimit

    lon, lat = world.point("341122100001001")
    body = {"category_code": "06010", "lon": lon, "lat": lat, "description": "任务检查"}
    api.post("/api/v1/cases", data={"data": json.dumps(body)}, files=[("photos", ("p.jpg", jpeg(pattern=5), "image/jpeg"))],
             headers=login("inspector01"))
    session.add(RateLimit(key="ip:old", window_start=int(clock.now().timestamp()) - 5 * 86_400, count=3))
    session.commit()
    assert tasks.check_once(app_state(app)) == 1
    assert tasks.check_once(app_state(app)) == 0  # nothing new
    assert session.query(PhotoEvidence).count() == 1 and session.get(RateLimit, "ip:old") is None
