"""Service points through HTTP: staff CRUD located in grids, CSV import (all or nothing), the public map and the
nearest-services ranking with walking distance and direction."""

from __future__ import annotations

from tests.integration.public_kit import point_body

API = "/api/v1/public"


def test_staff_add_change_and_remove_points(api, world, login):
    lon, lat = world.point("341122100001002")
    r = api.post(f"{API}/service-points", headers=login("operator1"),
                 json=point_body("toilet", lon, lat, code="GC001", hours="06:00-22:00", drinking_water=True))
    assert r.status_code == 201, r.text
    point = r.json()
    assert point["grid_code"] == "341122100001002" and point["community_code"] == "341122100001"
    assert point["free"] is True and point["drinking_water"] is True
    # moving it re-locates it
    lon2, lat2 = world.point("341122100002001")
    r = api.patch(f"{API}/service-points/{point['id']}", headers=login("operator1"), json={"lon": lon2, "lat": lat2})
    assert r.json()["grid_code"] == "341122100002001"
    # a code is unique
    r = api.post(f"{API}/service-points", headers=login("operator1"), json=point_body("water", lon, lat, code="GC001"))
    assert r.status_code == 409
    assert api.delete(f"{API}/service-points/{point['id']}", headers=login("operator1")).status_code == 204
    assert api.get(f"{API}/service-points/{point['id']}", headers=login("operator1")).status_code == 404


def test_bad_input_and_roles(api, world, login):
    lon, lat = world.point("341122100001001")
    bad = [point_body("toilet", lon, lat, hours="6-22"), point_body("castle", lon, lat),
           point_body("toilet", 200, lat), point_body("toilet", lon, lat, kit=[""]),
           point_body("toilet", lon, lat, name="a\x00b"), point_body("toilet", lon, lat, colour="red")]
    for body in bad:
        assert api.post(f"{API}/service-points", headers=login("operator1"), json=body).status_code == 422, body
    r = api.patch(f"{API}/service-points/1", headers=login("operator1"), json={"name": None})
    assert r.status_code in (404, 422)
    assert api.post(f"{API}/service-points", headers=login("d01"), json=point_body("toilet", lon, lat)).status_code == 403
    assert api.post(f"{API}/service-points", json=point_body("toilet", lon, lat)).status_code == 401
    assert api.get(f"{API}/service-points?q=%00", headers=login("operator1")).status_code == 422
    assert api.get(f"{API}/service-points", headers=login("operator1")).json() == []


CSV = """code,kind,name,address,lon,lat,hours,free,drinking_water,accessible,kit,phone,state,note
HS001,红色驿站,红色驿站·1号,人民路1号,{a},{b},08:00-20:00,是,是,是,雨伞、急救箱、充电宝,0550-5000001,,
GC001,toilet,第1号公厕,,{c},{d},24h,1,1,0,,,active,
,bench,街头座椅,,{c},{d},,,,,,,维修中,
"""


def test_csv_import_creates_then_updates(api, world, login):
    (a, b), (c, d) = world.point("341122100001001"), world.point("341122100001004")
    data = CSV.format(a=a, b=b, c=c, d=d).encode("utf-8-sig")
    r = api.post(f"{API}/service-points/import", headers=login("operator1"), files={"file": ("p.csv", data)})
    assert r.status_code == 200, r.text
    assert r.json() == {"created": 3, "updated": 0}
    points = {p["name"]: p for p in api.get(f"{API}/service-points", headers=login("operator1")).json()}
    station = points["红色驿站·1号"]
    assert station["kind"] == "red_station" and station["kit"] == ["雨伞", "急救箱", "充电宝"]
    assert station["grid_code"] == "341122100001001" and station["accessible"] is True
    assert points["街头座椅"]["state"] == "repair"
    # the same codes again update in place (rows without a code are new)
    gbk = CSV.format(a=a, b=b, c=c, d=d).replace("第1号公厕", "第一公厕").encode("gb18030")
    r = api.post(f"{API}/service-points/import", headers=login("operator1"), files={"file": ("p.csv", gbk)})
    assert r.json() == {"created": 1, "updated": 2}
    names = [p["name"] for p in api.get(f"{API}/service-points?kind=toilet", headers=login("operator1")).json()]
    assert names == ["第一公厕"]


def test_csv_with_bad_rows_imports_nothing(api, world, login):
    (a, b), (c, d) = world.point("341122100001001"), world.point("341122100001004")
    text = CSV.format(a=a, b=b, c=c, d=d) + "X1,castle,城堡,,1,2,,,,,,,,\nX2,toilet,厕所,,abc,2,,,,,,,,\n" \
                                              "X3,toilet,厕所,,118.43,32.45,6-22,,,,,,,\n"
    r = api.post(f"{API}/service-points/import", headers=login("operator1"), files={"file": ("p.csv", text.encode())})
    assert r.status_code == 422
    assert [e["line"] for e in r.json()["errors"]] == [5, 6, 7]
    assert api.get(f"{API}/service-points", headers=login("operator1")).json() == []
    for junk in (b"\x00\x01\x02", b"name,lon\nx,1\n", "无效".encode("utf-16")):
        r = api.post(f"{API}/service-points/import", headers=login("operator1"), files={"file": ("p.csv", junk)})
        assert r.status_code == 422, junk


def test_nearby_ranks_by_walking_distance_with_directions(api, world, login):
    lon, lat = world.point("341122100001001")
    east = {"lon": lon + 0.003, "lat": lat}  # ≈ 282 m east
    north = {"lon": lon, "lat": lat + 0.0015}  # ≈ 167 m north
    far = {"lon": lon + 0.03, "lat": lat}  # ≈ 2.8 km: beyond 3 km walking
    for name, where, kind, extra in [("东厕", east, "toilet", {"hours": "24h"}),
                                     ("北厕", north, "toilet", {"hours": "06:00-08:00"}),
                                     ("远厕", far, "toilet", {}), ("驿站", east, "red_station", {"kit": ["雨伞"]}),
                                     ("座椅", north, "bench", {})]:
        r = api.post(f"{API}/service-points", headers=login("operator1"),
                     json=point_body(kind, where["lon"], where["lat"], name=name, **extra))
        assert r.status_code == 201, r.text
    items = api.get(f"{API}/nearby", params={"lon": lon, "lat": lat}).json()  # no login needed
    assert [i["name"] for i in items] == ["北厕", "东厕", "驿站"]  # benches are not on the guide; far is too far
    first, second = items[0], items[1]
    assert first["direction"] == "北 220 米" and 200 < first["walk_m"] < 230 and first["minutes"] == 3
    assert second["direction"].startswith("东 37") and second["open_now"] is True
    assert first["open_now"] is False  # 09:00 on the test clock; open 06:00–08:00
    english = api.get(f"{API}/nearby", params={"lon": lon, "lat": lat, "kind": "toilet"},
                      headers={"Accept-Language": "en"}).json()
    assert [i["direction"].split()[0] for i in english] == ["north", "east"]
    assert english[0]["kind_name"] == "Public toilet"
    assert api.get(f"{API}/nearby", params={"lon": lon, "lat": lat, "kind": "bench"}).status_code == 422
    fc = api.get(f"{API}/points", params={"kind": "red_station"}).json()
    assert [f["properties"]["name"] for f in fc["features"]] == ["驿站"]
    assert fc["features"][0]["properties"]["kit"] == ["雨伞"]
