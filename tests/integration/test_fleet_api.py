"""The fleet through HTTP: registry, permits (apply, review, publish), forwarded positions becoming violations and
cases, appeals end to end through the company's API, scores, tracks and coordinate systems."""

from __future__ import annotations

import io
from datetime import datetime, timedelta

import pytest
from PIL import Image

from cityloop.geo.coords import to_wgs84
from tests.fleet_world import LAT, drive, lon_at, seed_fleet, today

TOKEN = {"X-Fleet-Token": "forwarder-secret"}


@pytest.fixture
def fleet(session, world, clock, settings):
    settings.fleet_ingest_token = "forwarder-secret"
    return seed_fleet(session, world, clock.now())


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def speeding(api, clock, plate="皖MA0001", start_m=700, minutes_ago=10):
    body = {"positions": drive(plate, clock.now() - timedelta(minutes=minutes_ago), start_m, 60, 40)}
    r = api.post("/api/v1/fleet/positions", json=body, headers=TOKEN)
    assert r.status_code == 200, r.text
    return r.json()


def test_the_registry(api, login, fleet):
    admin = login("admin")
    r = api.post("/api/v1/fleet/companies", json={"name": "新公司", "credit_code": "91341122MA2NEW003C"}, headers=admin)
    assert r.status_code == 201
    company = r.json()["id"]
    again = api.post("/api/v1/fleet/companies", json={"name": "x", "credit_code": "91341122MA2NEW003C"}, headers=admin)
    assert again.status_code == 409
    short = api.post("/api/v1/fleet/companies", json={"name": "x", "credit_code": "123"}, headers=admin)
    assert short.status_code == 422
    assert api.post("/api/v1/fleet/companies", json={"name": "x", "credit_code": "91341122MA2NEW004D"},
                    headers=login("operator1")).status_code == 403
    vehicle = {"company_id": company, "plate": "皖MZ9999", "terminal_phone": "013900000009", "coord_sys": "gcj02"}
    r = api.post("/api/v1/fleet/vehicles", json=vehicle, headers=login("cgj"))  # the enforcement department
    assert r.status_code == 201 and r.json()["terminal_phone"] == "13900000009" and r.json()["company_name"] == "新公司"
    assert api.post("/api/v1/fleet/vehicles", json=vehicle, headers=admin).status_code == 409
    user = api.post(f"/api/v1/fleet/companies/{company}/users", json={"username": "newco", "password": "secret1"},
                    headers=admin)
    assert user.status_code == 201
    token = api.post("/api/v1/auth/token", data={"username": "newco", "password": "secret1"}).json()["access_token"]
    mine = api.get("/api/v1/fleet/vehicles", headers={"Authorization": f"Bearer {token}"}).json()
    assert [v["plate"] for v in mine] == ["皖MZ9999"]
    assert len(api.get("/api/v1/fleet/vehicles", headers=admin).json()) == 4
    ring = [[118.43, 32.45], [118.431, 32.45], [118.431, 32.451], [118.43, 32.45]]
    square = {"type": "Polygon", "coordinates": [ring]}
    assert api.post("/api/v1/fleet/sites", json={"kind": "disposal", "name": "新消纳场", "geometry": square},
                    headers=admin).status_code == 201
    assert api.post("/api/v1/fleet/sites", json={"kind": "disposal", "name": "x", "geometry": {"type": "Point"}},
                    headers=admin).status_code == 422
    line = {"type": "LineString", "coordinates": [[118.43, 32.45], [118.44, 32.45]]}
    assert api.post("/api/v1/fleet/zones", json={"kind": "road", "name": "无限速", "geometry": line},
                    headers=admin).status_code == 422
    assert api.post("/api/v1/fleet/zones", json={"kind": "restricted", "name": "x", "geometry": square,
                                                 "hours": ["7点"]}, headers=admin).status_code == 422
    layers = api.get("/api/v1/fleet/map", headers=admin).json()["features"]
    assert {f["properties"]["kind"] for f in layers} == {"construction", "disposal", "road", "restricted"}


def test_permits_are_applied_for_reviewed_and_published(api, login, fleet, clock):
    day = today(clock.now())
    body = {"vehicle_ids": [fleet.vehicles["皖MB0002"].id], "from_site_id": fleet.sites["c"].id,
            "to_site_id": fleet.sites["b"].id, "route": [[lon_at(600), LAT], [lon_at(2600), LAT]],
            "valid_from": str(day), "valid_to": str(day + timedelta(days=20)), "hours": ["22:00-06:00"]}
    assert api.post("/api/v1/fleet/permits", json=body, headers=login("ztcb")).status_code == 422  # not its truck
    bad_hours = {**body, "hours": ["22-06"]}
    assert api.post("/api/v1/fleet/permits", json=bad_hours, headers=login("ztca")).status_code == 422
    assert api.post("/api/v1/fleet/permits", json={**body, "from_site_id": fleet.sites["b"].id},
                    headers=login("ztca")).status_code == 422
    r = api.post("/api/v1/fleet/permits", json=body, headers=login("ztca"))
    assert r.status_code == 201 and r.json()["status"] == "pending" and r.json()["plates"] == ["皖MB0002"]
    pid = r.json()["id"]
    assert [p["id"] for p in api.get("/api/v1/fleet/permits", headers=login("ztcb")).json()] == []
    assert api.post(f"/api/v1/fleet/permits/{pid}/approve", headers=login("operator1")).status_code == 403
    assert api.post(f"/api/v1/fleet/permits/{pid}/approve", headers=login("ztca")).status_code == 403
    approved = api.post(f"/api/v1/fleet/permits/{pid}/approve", headers=login("cgj")).json()
    assert approved["status"] == "approved" and approved["number"].startswith("ZT20261123")
    assert api.post(f"/api/v1/fleet/permits/{pid}/approve", headers=login("cgj")).status_code == 409
    public = api.get("/api/v1/fleet/public/permits").json()  # no login
    assert {p["number"] for p in public} == {"ZT2026112300001", approved["number"]}
    page = api.get("/public/permits")
    assert page.status_code == 200 and approved["number"] in page.text and "皖MB0002" in page.text
    assert api.post(f"/api/v1/fleet/permits/{pid}/revoke", json={}, headers=login("lead1")).status_code == 422
    revoked = api.post(f"/api/v1/fleet/permits/{pid}/revoke", json={"reason": "多次偏离路线"}, headers=login("lead1"))
    assert revoked.json()["status"] == "revoked"
    assert approved["number"] not in {p["number"] for p in api.get("/api/v1/fleet/public/permits").json()}
    other = api.post("/api/v1/fleet/permits", json=body, headers=login("ztca")).json()["id"]
    assert api.post(f"/api/v1/fleet/permits/{other}/reject", json={"reason": ""},
                    headers=login("cgj")).status_code == 422
    assert api.post(f"/api/v1/fleet/permits/{other}/reject", json={"reason": "路线不合理"},
                    headers=login("cgj")).json()["status"] == "rejected"


def test_a_speeding_truck_opens_a_case_and_its_company_appeals(api, login, fleet, clock, settings):
    got = speeding(api, clock)
    assert got["stored"] == 9 and len(got["violations"]) == 1
    vid = fleet.vehicles["皖MA0001"].id
    page = api.get(f"/api/v1/fleet/violations?vehicle_id={vid}", headers=login("dispatcher1")).json()
    assert page["total"] == 1
    v = page["items"][0]
    assert (v["kind"], v["kind_name"], v["status"], v["plate"]) == ("speeding", "超速行驶", "open", "皖MA0001")
    assert v["details"]["speed_kmh"] == 60.0 and v["details"]["limit_kmh"] == 40.0 and v["case_number"]
    case = api.get(f"/api/v1/cases/{v['case_id']}", headers=login("lead1")).json()
    assert (case["source"], case["category_code"], case["department_code"], case["stage"]) == (
        "fleet", "09018", "cgj", "dispatched")  # speeding: the closest matter, not 08011 (docs/fleet.md)
    evidence = api.get(f"/api/v1/cases/{v['case_id']}/events", headers=login("lead1")).json()[0]["payload"]["evidence"]
    assert evidence["plate"] == "皖MA0001" and evidence["kind"] == "speeding" and len(evidence["track"]) >= 2
    detail = api.get(f"/api/v1/fleet/violations/{v['id']}", headers=login("ztca")).json()
    assert detail["evidence"]["points"] >= 3 and detail["evidence"]["max_speed_kmh"] == 60.0
    assert api.get(f"/api/v1/fleet/violations/{v['id']}", headers=login("ztcb")).status_code == 404
    assert api.get("/api/v1/fleet/violations", headers=login("ztcb")).json()["total"] == 0
    assert speeding(api, clock)["violations"] == []  # the same positions again: nothing new

    files = [("files", ("ticket.png", png(), "image/png")),
             ("files", ("order.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf"))]
    bad = api.post(f"/api/v1/fleet/violations/{v['id']}/appeal", data={"text": "x"},
                   files=[("files", ("a.exe", b"MZ\x90\x00", "application/octet-stream"))], headers=login("ztca"))
    assert bad.status_code == 415
    assert api.post(f"/api/v1/fleet/violations/{v['id']}/appeal", data={"text": "应急"}, files=files,
                    headers=login("ztcb")).status_code == 404
    r = api.post(f"/api/v1/fleet/violations/{v['id']}/appeal", data={"text": "执行应急抢险运输任务"}, files=files,
                 headers=login("ztca"))
    assert r.status_code == 201, r.text
    appeal = r.json()
    assert [f["name"] for f in appeal["files"]] == ["ticket.png", "order.pdf"]
    pdf = api.get(appeal["files"][1]["url"], headers=login("ztca"))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert api.get(appeal["files"][0]["url"], headers=login("ztcb")).status_code == 404
    assert api.post(f"/api/v1/fleet/violations/{v['id']}/appeal", json={"text": "again"},
                    headers=login("ztca")).status_code == 409
    waiting = api.get("/api/v1/fleet/violations?appeal=pending", headers=login("cgj")).json()["items"]
    assert [w["id"] for w in waiting] == [v["id"]] and waiting[0]["status"] == "appealed"
    decision = {"decision": "cancelled"}
    assert api.post(f"/api/v1/fleet/violations/{v['id']}/decision", json=decision,
                    headers=login("ztca")).status_code == 403
    assert api.post(f"/api/v1/fleet/violations/{v['id']}/decision", json=decision,
                    headers=login("cgj")).status_code == 422  # cancelling needs a reason
    done = api.post(f"/api/v1/fleet/violations/{v['id']}/decision", json={**decision, "note": "调度单属实"},
                    headers=login("cgj")).json()
    assert done["status"] == "cancelled" and done["appeal"]["decision"] == "cancelled"
    events = api.get(f"/api/v1/cases/{v['case_id']}/events", headers=login("lead1")).json()
    notes = [e["payload"]["note"] for e in events if e["action"] in ("annotate", "void")]
    assert notes[0].startswith("运输企业提出申诉") and notes[1].startswith("申诉复核：申诉成立，撤销违规认定")
    assert events[-1]["action"] == "void"  # a cancelled violation's case is void, out of every assessment
    assert api.get(f"/api/v1/cases/{v['case_id']}", headers=login("lead1")).json()["stage"] == "void"
    assert api.get("/api/v1/fleet/companies", headers=login("ztca")).json()[0]["score"] == 100


# Tokens carry their issue time and PyJWT refuses one issued in the future, so the clock moves by a day only.
def test_a_trucks_repeats_on_one_day_are_one_case(api, login, fleet, clock):
    """同车同类当日合并: each episode is a violation; the day's open case takes the repeats; the next day opens anew."""
    first = speeding(api, clock, minutes_ago=60)["violations"]
    again = speeding(api, clock, minutes_ago=10)["violations"]
    other = speeding(api, clock, plate="皖MB0002", minutes_ago=10)["violations"]
    got = {i: api.get(f"/api/v1/fleet/violations/{i}", headers=login("admin")).json() for i in first + again + other}
    got = {i: v for i, v in got.items() if v["kind"] == "speeding"}  # (the hour between is also a silent terminal)
    mine = {v["case_id"] for v in got.values() if v["plate"] == "皖MA0001"}
    theirs = {v["case_id"] for v in got.values() if v["plate"] == "皖MB0002"}
    assert len(got) == 3 and len(mine) == 1 and len(theirs) == 1 and mine != theirs
    clock.advance(days=1)
    tomorrow = api.get(f"/api/v1/fleet/violations/{speeding(api, clock)['violations'][0]}", headers=login("admin"))
    assert tomorrow.json()["case_id"] not in {v["case_id"] for v in got.values()}


def test_unappealed_violations_count_against_the_company(api, login, fleet, clock, settings):
    settings.fleet_appeal_days = 1
    speeding(api, clock)
    company = lambda: api.get("/api/v1/fleet/companies", headers=login("ztca")).json()[0]  # noqa: E731
    assert company()["score"] == 100
    clock.advance(days=1, minutes=1)
    assert company()["score"] == 100 - settings.fleet_score_points["speeding"]
    v = api.get("/api/v1/fleet/violations?status=upheld", headers=login("ztca")).json()["items"][0]
    assert v["status"] == "upheld"
    late = api.post(f"/api/v1/fleet/violations/{v['id']}/appeal", json={"text": "晚了"}, headers=login("ztca"))
    assert late.status_code == 409


def test_a_blacklisted_company_cannot_apply(api, login, fleet, clock, settings):
    settings.fleet_blacklist_score, settings.fleet_appeal_days = 100, 1  # one upheld violation is enough here
    speeding(api, clock)
    clock.advance(days=1, minutes=1)
    body = {"vehicle_ids": [fleet.vehicles["皖MB0002"].id], "from_site_id": fleet.sites["c"].id,
            "to_site_id": fleet.sites["b"].id, "route": [[lon_at(600), LAT], [lon_at(2600), LAT]],
            "valid_from": str(today(clock.now())), "valid_to": str(today(clock.now()) + timedelta(days=3))}
    r = api.post("/api/v1/fleet/permits", json=body, headers=login("ztca"))
    assert r.status_code == 409 and r.json()["code"] == "company-blacklisted"
    assert api.get("/api/v1/fleet/companies", headers=login("ztca")).json()[0]["blacklisted"] is True


def test_dumping_is_filed_as_accumulated_muck(api, login, fleet, clock):
    start = clock.now() - timedelta(minutes=20)
    stop = [{"plate": "皖MA0001", "time": (start + timedelta(seconds=30 * k)).isoformat(), "lon": lon_at(1100),
             "lat": LAT, "speed": 0, "load": 3} for k in range(25)]
    made = api.post("/api/v1/fleet/positions", json={"positions": stop}, headers=TOKEN).json()["violations"]
    v = api.get(f"/api/v1/fleet/violations/{made[0]}", headers=login("admin")).json()
    case = api.get(f"/api/v1/cases/{v['case_id']}", headers=login("admin")).json()
    assert (v["kind"], case["category_code"], case["condition_code"]) == ("dumping", "06011", "02")


def test_track_playback(api, login, fleet, clock):
    speeding(api, clock)
    vid = fleet.vehicles["皖MA0001"].id
    frm = (clock.now() - timedelta(hours=1)).isoformat()
    r = api.get(f"/api/v1/fleet/vehicles/{vid}/track", params={"from": frm, "to": clock.now().isoformat()},
                headers=login("ztca"))
    track = r.json()
    assert track["raw_points"] == 9 and len(track["points"]) == 2  # a straight line: its two ends
    assert track["points"][0][1:3] == [lon_at(700), LAT]
    assert [m["kind"] for m in track["violations"]] == ["speeding"]
    assert api.get(f"/api/v1/fleet/vehicles/{vid}/track", headers=login("ztcb")).status_code == 404
    long = api.get(f"/api/v1/fleet/vehicles/{vid}/track", params={"from": "2026-01-01T00:00:00+08:00"},
                   headers=login("admin"))
    assert long.status_code == 422


def test_coordinates_in_gcj02_are_stored_in_wgs84(api, login, fleet, clock, session):
    from cityloop.fleet.models import Vehicle

    when = clock.now() - timedelta(minutes=1)
    body = {"positions": [{"phone": "013800000003", "time": when.isoformat(), "lon": 118.4355, "lat": 32.4520,
                           "speed": 0}]}
    assert api.post("/api/v1/fleet/positions", json=body, headers=TOKEN).json()["stored"] == 1
    v = session.get(Vehicle, fleet.vehicles["皖MC0003"].id)
    session.refresh(v)
    assert (v.last_lon, v.last_lat) == pytest.approx(to_wgs84(118.4355, 32.4520, "gcj02"))
    assert abs(v.last_lon - 118.4355) > 0.003  # the GCJ-02 offset is hundreds of metres


def test_forwarded_positions_need_a_token_or_a_reviewer(api, login, fleet, clock):
    body = {"positions": drive("皖MA0001", clock.now() - timedelta(minutes=5), 700, 30, 10)}
    assert api.post("/api/v1/fleet/positions", json=body).status_code == 401
    assert api.post("/api/v1/fleet/positions", json=body, headers={"X-Fleet-Token": "nope"}).status_code == 401
    assert api.post("/api/v1/fleet/positions", json=body, headers=login("operator1")).status_code == 403
    r = api.post("/api/v1/fleet/positions", json={"positions": body["positions"] + [
        {"plate": "苏A00000", "time": datetime(2026, 11, 23, 8, 0).isoformat() + "+08:00", "lon": 118.4, "lat": 32.4}]},
        headers=login("cgj"))
    assert r.json()["stored"] == 3 and r.json()["unknown"] == 1
    future = {"positions": drive("皖MA0001", clock.now() + timedelta(hours=2), 700, 30, 0)}
    assert api.post("/api/v1/fleet/positions", json=future, headers=TOKEN).json()["stored"] == 0
