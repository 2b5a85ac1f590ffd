"""The device registry: register, change, list with state, CSV export and import."""

from __future__ import annotations

from tests.integration.sensors_kit import fake_notifier, iso, post, sensor_settings, sensor_world  # noqa: F401


def test_register_and_list(api, sensors, world, login):
    lon, lat = world.point("341122100001004")
    body = {"code": "NO-9", "name": "县医院噪声监测", "type": "noise", "lon": lon, "lat": lat, "context": "hospital",
            "department": "d01", "installed_on": "2026-10-01"}
    assert api.post("/api/v1/sensors/devices", json=body, headers=login("operator1")).status_code == 403
    made = api.post("/api/v1/sensors/devices", json=body, headers=login("admin"))
    assert made.status_code == 201
    got = made.json()
    assert (got["grid_code"], got["department"], got["status"], got["type_name"]) == (
        "341122100001004", "d01", "silent", "噪声监测")
    assert api.post("/api/v1/sensors/devices", json=body, headers=login("admin")).status_code == 409
    for change, code in [({"type": "laser"}, "unknown-device-type"), ({"lon": 100.0, "lat": 30.0}, "outside-district"),
                         ({"department": "nope"}, "unknown-department"), ({"context": "moon"}, "unknown-context")]:
        res = api.post("/api/v1/sensors/devices", json={**body, "code": "NO-10", **change}, headers=login("admin"))
        assert res.status_code == 422 and res.json()["code"] == code, change
    listed = api.get("/api/v1/sensors/devices", params={"type": "noise"}, headers=login("leader1")).json()
    assert [d["code"] for d in listed] == ["NO-1", "NO-9"]
    assert api.get("/api/v1/sensors/devices").status_code == 401
    assert api.get("/api/v1/sensors/devices/NOPE", headers=login("leader1")).status_code == 404


def test_a_new_device_reports_at_once(api, sensors, world, clock, login):
    lon, lat = world.point("341122100001003")
    api.post("/api/v1/sensors/devices", json={"code": "WL-9", "name": "新积水点", "type": "waterlogging", "lon": lon,
                                             "lat": lat}, headers=login("admin"))
    assert post(api, [{"device_id": "WL-9", "ts": iso(clock), "values": {"depth_cm": 2}}])["accepted"] == 1


def test_retired_devices_are_refused(api, sensors, clock, login):
    assert api.patch("/api/v1/sensors/devices/RG-1", json={"state": "retired"},
                     headers=login("admin")).json()["status"] == "off"
    out = post(api, [{"device_id": "RG-1", "ts": iso(clock), "values": {"rain_mm_h": 2}}])
    assert [r["reason"] for r in out["rejected"]] == ["device-inactive"]


def test_csv_export_and_import(api, sensors, login):
    exported = api.get("/api/v1/sensors/devices.csv", headers=login("admin"))
    assert exported.status_code == 200 and exported.text.startswith("code,name,type")
    lines = exported.text.strip().splitlines()
    assert len(lines) == 1 + len(sensors)
    changed = exported.text.replace("城区雨量站", "城东雨量站") + lines[-1].replace("WL-2", "WL-3") + "\n"
    res = api.post("/api/v1/sensors/devices/import", content=changed.encode(), headers=login("admin"))
    assert res.status_code == 200 and res.json() == {"created": 1, "updated": len(sensors)}
    names = {d["code"]: d["name"] for d in api.get("/api/v1/sensors/devices", headers=login("admin")).json()}
    assert names["RG-1"] == "城东雨量站" and "WL-3" in names
    bad = "code,name,type,lon,lat\nX-1,坏点,waterlogging,abc,32\n"
    res = api.post("/api/v1/sensors/devices/import", content=bad.encode(), headers=login("admin"))
    assert res.status_code == 422 and res.json()["code"] == "bad-csv-row"
    res = api.post("/api/v1/sensors/devices/import", content=b"name\nx\n", headers=login("admin"))
    assert res.status_code == 422 and res.json()["code"] == "bad-csv-header"
    assert "X-1" not in {d["code"] for d in api.get("/api/v1/sensors/devices", headers=login("admin")).json()}
