"""Places end to end: `cityloop places import` (all or nothing), then /api/v1/geo/geocode and /geo/reverse over HTTP,
and the hotline's and Open311's geocoding through the same index."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from cityloop.state import app_state
from cityloop.channels.models import GazetteerEntry
from cityloop.config import get_settings
from cityloop.db import make_engine, make_session_factory
from cityloop.db.migrate import upgrade
from cityloop.places import importer
from cityloop.places.cli import app
from cityloop.places.models import PlaceAddress, PlaceRoad
from tests.conftest import SHANGHAI
from tests.factories import LAT0, LON0, seed_world

Y = LAT0 - 0.0005  # 永阳路 runs west→east through the middle of the test grids' top row
X = LON0 + 0.0015  # 建设路 runs south→north through the middle of the second column


def road(name, coords, town="新安镇", **ranges):
    return {"type": "Feature", "properties": {"kind": "road", "name": name, "town": town, **ranges},
            "geometry": {"type": "LineString", "coordinates": coords}}


def point(props, lon, lat):
    return {"type": "Feature", "properties": props, "geometry": {"type": "Point", "coordinates": [lon, lat]}}


def county() -> dict:
    return {"type": "FeatureCollection", "features": [
        road("永阳路", [[LON0, Y], [LON0 + 0.003, Y]], left_from=1, left_to=99, right_from=2, right_to=100),
        road("建设路", [[X, LAT0 - 0.002], [X, LAT0]], left_from=1, left_to=29, right_from=2, right_to=30),
        road("永阳路", [[118.30, 32.60], [118.32, 32.60]], town="半塔镇", left_from=1, left_to=99, right_from=2,
             right_to=100),
        point({"kind": "address", "road": "永阳路", "number": 88, "town": "新安镇"}, LON0 + 0.0026, Y + 0.00005),
        point({"kind": "poi", "name": "县人民医院", "alias": ["县医院", "人民医院"], "town": "新安镇"},
              LON0 + 0.0005, LAT0 - 0.0015),
        point({"name": "城东农贸市场", "town": "新安镇"}, LON0 + 0.02, LAT0 + 0.02),
    ]}


# What callers say → the kind and name of the best answer, and its town.
SPOKEN = [
    ("永阳路88号", "address", "永阳路88号", "新安镇"),
    ("我在永阳路八十八号门口", "address", "永阳路88号", "新安镇"),
    ("永阳路与建设路交叉口", "intersection", "永阳路与建设路交叉口", "新安镇"),
    ("建设路和永阳路路口", "intersection", "建设路与永阳路交叉口", "新安镇"),
    ("新安镇 永阳路", "road", "永阳路", "新安镇"),
    ("半塔镇 永阳路", "road", "永阳路", "半塔镇"),
    ("县人民医院东门", "poi", "县人民医院", "新安镇"),
    ("县医院", "poi", "县人民医院", "新安镇"),
    ("县人明医院", "poi", "县人民医院", "新安镇"),
    ("永羊路88号", "address", "永阳路88号", "新安镇"),
    ("永阳88号", "address", "永阳路88号", "新安镇"),
    ("yyl", "road", "永阳路", "新安镇"),
]


@pytest.fixture
def places(session, world):
    parsed = importer.parse_geojson(json.dumps(county()), "county")
    importer.replace(session, parsed, "county")
    session.commit()
    return world


@pytest.mark.parametrize("query, kind, name, town", SPOKEN)
def test_spoken_addresses_over_http(api, places, query, kind, name, town):
    found = api.get("/api/v1/geo/geocode", params={"q": query}).json()
    best = found[0]
    assert (best["kind"], best["name"], best["address"]) == (kind, name, town)
    assert 0 < best["score"] <= 100


def test_geocode_answers_points_grid_codes_and_approximations(api, places):
    plate = api.get("/api/v1/geo/geocode?q=永阳路88号").json()[0]
    assert (plate["lon"], plate["lat"], plate["approximate"]) == (pytest.approx(LON0 + 0.0026), pytest.approx(Y + 0.00005),
                                                                  False)
    assert plate["grid_code"] == "341122100002001"
    guess = api.get("/api/v1/geo/geocode?q=永阳路11号").json()[0]  # no door plate: along the number range
    assert guess["kind"] == "address" and guess["approximate"] and guess["lon"] == pytest.approx(LON0 + 0.003 * 10 / 98,
                                                                                                abs=1e-6)
    assert guess["grid_code"] == "341122100001001"
    cross = api.get("/api/v1/geo/geocode?q=永阳路与建设路交叉口").json()[0]
    assert (cross["lon"], cross["lat"], cross["grid_code"]) == (pytest.approx(X), pytest.approx(Y), "341122100001002")
    poi = api.get("/api/v1/geo/geocode?q=县医院").json()[0]
    assert poi["id"] is not None and poi["grid_code"] == "341122100001003"
    assert api.get("/api/v1/geo/geocode?q=火星基地").json() == []


def test_reverse_geocoding(api, places):
    at = api.get(f"/api/v1/geo/reverse?lon={LON0 + 0.0026}&lat={Y + 0.0002}").json()
    assert at["name"] == "永阳路 88号附近" and at["kind"] == "address" and at["grid_code"] == "341122100002001"
    north = api.get(f"/api/v1/geo/reverse?lon={LON0 + 0.0005}&lat={Y + 0.0002}").json()
    assert north["name"] == "永阳路 17号附近" and north["kind"] == "road"  # left of a west→east road: odd
    south = api.get(f"/api/v1/geo/reverse?lon={LON0 + 0.0005}&lat={Y - 0.0002}").json()
    assert south["name"] == "永阳路 18号附近"
    market = api.get(f"/api/v1/geo/reverse?lon={LON0 + 0.0201}&lat={LAT0 + 0.0201}").json()
    assert market["name"] == "城东农贸市场附近" and market["kind"] == "poi"
    far = api.get("/api/v1/geo/reverse?lon=100&lat=20")
    assert far.status_code == 404 and far.json()["code"] == "no-place-nearby"
    assert api.get("/api/v1/geo/reverse?lon=200&lat=20").status_code == 422


@pytest.mark.parametrize("q, code", [("", None), ("   ", "geocode-query-empty"), ("a" * 10_000, "geocode-query-too-long"),
                                     ("永" * 101, "geocode-query-too-long"), ("永阳路\x01", "geocode-query-control")])
def test_bad_queries_are_clear_422s(api, world, q, code):
    r = api.get("/api/v1/geo/geocode", params={"q": q})
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    if code:
        assert r.json()["code"] == code
    if code == "geocode-query-too-long":
        assert "最多 100 个字" in r.json()["detail"] and r.json()["max_length"] == 100
        en = api.get("/api/v1/geo/geocode", params={"q": q}, headers={"Accept-Language": "en"}).json()
        assert "at most 100 characters" in en["detail"]


def test_the_query_limit_is_a_setting(api, app, world):
    app_state(app).settings.geocode_max_query = 20
    assert api.get("/api/v1/geo/geocode", params={"q": "永" * 21}).status_code == 422
    assert api.get("/api/v1/geo/geocode", params={"q": "永" * 20}).status_code == 200


def test_hotline_and_open311_geocode_through_the_places(places, session):
    from cityloop.channels.gazetteer import best_point

    lon, lat, name = best_point(session, "永阳路与建设路交叉口")
    assert (lon, lat, name) == (pytest.approx(X), pytest.approx(Y), "永阳路与建设路交叉口")
    assert best_point(session, "火星基地") is None


# ---- `cityloop places import` ----

@pytest.fixture
def cli_db(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'places.db'}"
    upgrade(url)
    factory = make_session_factory(make_engine(url))
    with factory() as session:
        seed_world(session, datetime(2026, 11, 23, 9, tzinfo=SHANGHAI))
    monkeypatch.setenv("CITYLOOP_DATABASE_URL", url)
    monkeypatch.setenv("CITYLOOP_DEMO", "1")
    monkeypatch.setenv("CITYLOOP_MEDIA_DIR", str(tmp_path / "media"))
    get_settings.cache_clear()
    yield factory
    get_settings.cache_clear()


def counts(factory) -> tuple[int, int, int]:
    with factory() as session:
        return tuple(session.scalar(select(func.count()).select_from(m)) for m in (PlaceRoad, PlaceAddress,
                                                                                    GazetteerEntry))


def test_import_geojson_and_csv(cli_db, tmp_path):
    runner = CliRunner()
    f = tmp_path / "county.geojson"
    f.write_text(json.dumps(county(), ensure_ascii=False), encoding="utf-8")
    out = runner.invoke(app, ["import", str(f)])
    assert out.exit_code == 0, out.output
    assert "3 roads, 1 door plates, 2 POIs" in out.output and counts(cli_db) == (3, 1, 2)
    assert runner.invoke(app, ["import", str(f)]).exit_code == 0 and counts(cli_db) == (3, 1, 2)  # replaced
    csv = tmp_path / "more.csv"
    csv.write_text("kind,name,road,number,lon,lat,wkt,left_from,left_to,alias\n"
                   f"road,东大街,,,,,\"LINESTRING ({LON0} {LAT0 - 0.001}, {LON0 + 0.003} {LAT0 - 0.001})\",1,59,\n"
                   f"address,,东大街,7,{LON0 + 0.0002},{LAT0 - 0.0009},,,,\n"
                   f"poi,县政府,,,{LON0 + 0.001},{LAT0 - 0.001},,,,县人民政府\n", encoding="utf-8")
    out = runner.invoke(app, ["import", str(csv), "--source", "extra"])
    assert out.exit_code == 0, out.output
    assert counts(cli_db) == (4, 2, 3)
    found = runner.invoke(app, ["geocode", "东大街7号"])
    assert found.exit_code == 0 and "东大街7号" in found.output.splitlines()[0]


@pytest.mark.parametrize("feature, message", [
    (road("", [[LON0, Y], [LON0 + 0.001, Y]]), "features[1]"),
    ({"type": "Feature", "properties": {"kind": "road"}, "geometry": {"type": "LineString",
                                                                      "coordinates": [[LON0, Y], [LON0 + 1, Y]]}},
     "name is missing"),
    (road("建设路", [[LON0, Y]]), "invalid geometry"),
    (road("建设路", [[LON0, Y], [LON0, Y]]), "invalid geometry"),
    (road("建设路", [[LON0, Y], [500, Y]]), "not longitude/latitude"),
    ({"type": "Feature", "properties": {"kind": "poi", "name": "广场"},
      "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}}, "Self-intersection"),
    (point({"kind": "address", "road": "永阳路", "number": "八号"}, LON0, Y), "number is not a whole number"),
    ({"type": "Feature", "properties": {"name": "x"}, "geometry": None}, "invalid geometry"),
])
def test_bad_files_import_nothing(cli_db, tmp_path, feature, message):
    runner = CliRunner()
    good = tmp_path / "county.geojson"
    good.write_text(json.dumps(county(), ensure_ascii=False), encoding="utf-8")
    assert runner.invoke(app, ["import", str(good)]).exit_code == 0
    before = counts(cli_db)
    doc = county()
    doc["features"].insert(1, feature)
    good.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")  # the same source: would replace
    out = runner.invoke(app, ["import", str(good)])
    assert out.exit_code == 1 and message in out.output and "Nothing was imported" in out.output
    assert "features[1]" in out.output and "第 1 个要素" in out.output
    assert counts(cli_db) == before  # the earlier import of this source is intact


@pytest.mark.parametrize("name, text, message", [
    ("x.geojson", "{not json", "not valid JSON"), ("x.geojson", '{"type": "FeatureCollection", "features": []}',
                                                    "no features"),
    ("x.csv", "kind,name,lon,lat\nroad,永阳路,1,2\n", "line 2"), ("x.csv", "name,lon\n", "no kind column"),
    ("x.txt", "hello", "Only .geojson and .csv"),
])
def test_bad_file_shapes(cli_db, tmp_path, name, text, message):
    f = tmp_path / name
    f.write_text(text, encoding="utf-8")
    out = CliRunner().invoke(app, ["import", str(f)])
    assert out.exit_code == 1 and message in out.output
    assert counts(cli_db) == (0, 0, 0)
    assert CliRunner().invoke(app, ["import", str(tmp_path / "missing.geojson")]).exit_code == 2
