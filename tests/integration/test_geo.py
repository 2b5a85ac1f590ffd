"""Geography over HTTP and the CLI: locate, batch locate, grid GeoJSON, import, generate, duty grids."""

from __future__ import annotations

import json

import pytest
from shapely.geometry import box, mapping
from typer.testing import CliRunner

from cityloop.geo.models import UnitGrid
from cityloop.geo.service import assign_duty_grids, generate_grids, import_features


def test_locate_answers_every_level_and_the_inspectors(api, login, world):
    lon, lat = world.point("341122100001003")
    r = api.get("/api/v1/geo/locate", params={"lon": lon, "lat": lat}, headers=login("operator1"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["grid_code"], body["duty_grid_code"], body["community_code"], body["street_code"],
            body["district_code"]) == ("341122100001003", "DG01", "341122100001", "341122100", "341122")
    assert body["community_name"] == "北门社区" and body["street_name"] == "新安镇"
    assert body["inspectors"] == ["inspector01"]


def test_locate_converts_vendor_coordinates(api, login, world):
    from cityloop.geo.coords import from_wgs84

    lon, lat = world.point("341122100002001")
    for sys_ in ("gcj02", "bd09"):
        x, y = from_wgs84(lon, lat, sys_)
        assert abs(x - lon) > 1e-4  # the vendor coordinates really differ
        r = api.get("/api/v1/geo/locate", params={"lon": x, "lat": y, "coord_sys": sys_}, headers=login("lead1"))
        assert r.json()["grid_code"] == "341122100002001"
        assert r.json()["lon"] == pytest.approx(lon, abs=1e-7)


def test_locate_outside_and_bad_input(api, login, world):
    h = login("lead1")
    r = api.get("/api/v1/geo/locate", params={"lon": 100, "lat": 30}, headers=h)
    assert r.status_code == 422 and r.json()["code"] == "outside-district" and "不在来安县范围内" in r.json()["detail"]
    assert api.get("/api/v1/geo/locate", params={"lon": 500, "lat": 30}, headers=h).status_code == 422
    assert api.get("/api/v1/geo/locate", params={"lon": 118.4, "lat": 32.4, "coord_sys": "x"}, headers=h).status_code == 422
    assert api.get("/api/v1/geo/locate", params={"lon": 118.4, "lat": 32.4}).status_code == 401


def test_batch_locate(api, login, world):
    a, b = world.point("341122100001001"), world.point("341122100001004")
    body = {"lon": [a[0], 100.0, b[0]], "lat": [a[1], 30.0, b[1]]}
    r = api.post("/api/v1/geo/locate", json=body, headers=login("lead1"))
    assert r.status_code == 200
    assert r.json()["grid_code"] == ["341122100001001", None, "341122100001004"]
    assert r.json()["duty_grid_code"] == ["DG01", None, "DG01"]
    r = api.post("/api/v1/geo/locate", json={"lon": [1.0], "lat": []}, headers=login("lead1"))
    assert r.status_code == 422 and r.json()["code"] == "length-mismatch"


def test_grids_geojson_and_filters(api, login, world):
    h = login("inspector01")
    doc = api.get("/api/v1/geo/grids", headers=h).json()
    assert doc["type"] == "FeatureCollection" and len(doc["features"]) == 5
    one = doc["features"][0]
    assert one["properties"]["code"] == "341122100001001" and one["properties"]["duty_grid_code"] == "DG01"
    assert one["geometry"]["type"] == "Polygon"
    assert len(api.get("/api/v1/geo/grids?duty_grid=DG02", headers=h).json()["features"]) == 1
    lon, lat = world.point("341122100001004")
    near = api.get("/api/v1/geo/grids", params={"bbox": f"{lon},{lat},{lon},{lat}"}, headers=h).json()
    assert [f["id"] for f in near["features"]] == ["341122100001004"]
    assert api.get("/api/v1/geo/grids?bbox=1,2,x", headers=h).json()["code"] == "bad-bbox"


def test_regions_and_duty_grids(api, login, world):
    h = login("admin")
    streets = api.get("/api/v1/geo/regions?level=community&parent=341122100", headers=h).json()
    assert [(s["code"], s["unit_grids"]) for s in streets] == [("341122100001", 4), ("341122100002", 1)]
    duty = api.get("/api/v1/geo/duty-grids", headers=h).json()
    assert [(d["code"], d["unit_grids"], d["inspectors"]) for d in duty] == [
        ("DG01", 4, ["inspector01"]), ("DG02", 1, ["inspector02"])]
    r = api.put("/api/v1/geo/duty-grids/DG02/inspectors", json={"usernames": ["inspector01", "inspector02"]}, headers=h)
    assert r.status_code == 200
    lon, lat = world.point("341122100002001")
    assert api.get("/api/v1/geo/locate", params={"lon": lon, "lat": lat}, headers=h).json()["inspectors"] == [
        "inspector01", "inspector02"]
    bad = api.put("/api/v1/geo/duty-grids/DG02/inspectors", json={"usernames": ["d01"]}, headers=h)
    assert bad.status_code == 422 and bad.json()["code"] == "not-an-inspector"
    assert api.put("/api/v1/geo/duty-grids/DG02/inspectors", json={"usernames": []},
                   headers=login("lead1")).status_code == 403


def _community(code: str, name: str, geom) -> dict:
    return {"type": "Feature", "properties": {"code": code, "name": name}, "geometry": mapping(geom)}


def test_import_generate_assign_and_the_index_follows(api, login, world, session):
    # A new community east of the seeded grids: 600 m × 400 m in degrees near 32.45°N.
    frame = box(118.440, 32.446, 118.4464, 32.4496)
    import_features(session, {"type": "FeatureCollection",
                              "features": [_community("341122100003", "青龙社区", frame)]})
    report = generate_grids(session, ["341122100003"])
    made = report.grids["341122100003"]
    assert 20 <= made <= 30  # ≈ 240,000 m² / 10,000 m², give or take the clipped edges
    codes = sorted(session.scalars(UnitGrid.__table__.select().with_only_columns(UnitGrid.code)
                                   .where(UnitGrid.community_code == "341122100003")))
    assert codes[0] == "341122100003001" and codes[-1] == f"341122100003{made:03d}"
    grids = {g.code: g for g in session.query(UnitGrid).filter(UnitGrid.community_code == "341122100003")}
    assert sum(g.area_m2 for g in grids.values()) == pytest.approx(2.4e5, rel=0.02)
    lon, lat = 118.4401, 32.4495  # the north-west corner holds grid 001
    r = api.get("/api/v1/geo/locate", params={"lon": lon, "lat": lat}, headers=login("lead1"))
    assert r.status_code == 200 and r.json()["grid_code"] == "341122100003001"
    assert r.json()["duty_grid_code"] is None
    assign_duty_grids(session, "341122", 3)
    counts = api.get("/api/v1/geo/duty-grids?district=341122", headers=login("lead1")).json()
    assert [d["code"] for d in counts] == ["341122ZR01", "341122ZR02", "341122ZR03"]
    sizes = [d["unit_grids"] for d in counts]
    assert sum(sizes) == made + 5 and max(sizes) - min(sizes) <= 1


@pytest.mark.parametrize("doc, code", [
    ({"type": "Feature"}, "not-a-feature-collection"),
    ({"type": "FeatureCollection", "features": [{"properties": {"code": "12"}, "geometry": None}]}, "bad-geojson"),
    ({"type": "FeatureCollection", "features": [{"properties": {"code": "341122100009"},
                                                 "geometry": {"type": "Point", "coordinates": [1, 2]}}]}, "bad-geojson"),
])
def test_bad_imports_change_nothing(session, world, doc, code):
    from cityloop.shared.errors import Invalid

    with pytest.raises(Invalid) as err:
        import_features(session, doc)
    assert err.value.code == code
    assert session.query(UnitGrid).count() == 5


def test_cli_import_and_generate(tmp_path, db_url, monkeypatch, engine):
    from sqlalchemy import delete, text

    from cityloop.cli import _mount_optional, app
    from cityloop.config import get_settings
    from cityloop.geo.models import Region

    monkeypatch.setenv("CITYLOOP_DATABASE_URL", db_url)
    monkeypatch.setenv("CITYLOOP_DEMO", "1")
    get_settings.cache_clear()
    _mount_optional()
    grid = box(118.50, 32.50, 118.501, 32.501)
    doc = {"type": "FeatureCollection", "features": [
        _community("341122900001", "测试社区", box(118.50, 32.50, 118.503, 32.502)),
        {"type": "Feature", "properties": {"code": "341122900001001", "duty_grid": "ZT01"}, "geometry": mapping(grid)},
    ]}
    path = tmp_path / "grids.geojson"
    path.write_text(json.dumps(doc), encoding="utf-8")
    runner = CliRunner()
    try:
        r = runner.invoke(app, ["grids", "import", str(path)])
        assert r.exit_code == 0, r.output
        assert "341122900" in r.output  # the street was created as a placeholder
        r = runner.invoke(app, ["grids", "generate", "--street", "341122900"])
        assert r.exit_code == 0, r.output
        r = runner.invoke(app, ["grids", "generate", "--community", "341122999999"])
        assert r.exit_code == 1 and "341122999999" in r.output
        bad = tmp_path / "bad.geojson"
        bad.write_text("{nope", encoding="utf-8")
        assert runner.invoke(app, ["grids", "import", str(bad)]).exit_code == 1
    finally:
        with engine.begin() as conn:  # this test writes outside the per-test transaction: clean up
            conn.execute(delete(UnitGrid).where(UnitGrid.community_code.like("341122900%")))
            conn.execute(text("DELETE FROM duty_grids WHERE code = 'ZT01'"))
            for level in ("community", "street"):
                conn.execute(delete(Region).where(Region.code.like("341122900%"), Region.level == level))
            conn.execute(delete(Region).where(Region.code == "341122"))
        get_settings.cache_clear()


def test_boundaries_as_geojson(api, login, session, world):
    h = login("leader1")
    duty = api.get("/api/v1/geo/duty-grids.geojson", headers=h).json()
    assert [(f["id"], f["properties"]["unit_grids"]) for f in duty["features"]] == [("DG01", 4), ("DG02", 1)]
    assert duty["features"][0]["geometry"]["type"] == "Polygon"  # four cells dissolve into one square
    import_features(session, {"type": "FeatureCollection", "features": [
        _community("341122100003", "青龙社区", box(118.440, 32.446, 118.4464, 32.4496))]})
    communities = api.get("/api/v1/geo/regions.geojson?level=community", headers=h).json()
    assert [f["id"] for f in communities["features"]] == ["341122100003"]  # only those with a boundary
    assert api.get("/api/v1/geo/regions.geojson?level=planet", headers=h).status_code == 422
