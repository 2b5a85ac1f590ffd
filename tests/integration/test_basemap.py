"""The base map over HTTP and the CLI: /map/tiles serves the local file (content type, gzip, cache, 204 where the
map is empty, 404/422 for names that cannot be tiles), /map/config.js tells pages what to draw, the CSP names no
other host unless a tile URL is set, and `cityloop map import` installs a good file and refuses a corrupt one
without changing anything."""

from __future__ import annotations

import gzip
import json
import shutil
import sqlite3

import mapbox_vector_tile
import pytest
from typer.testing import CliRunner

from cityloop.app import create_app
from cityloop.basemap import source
from cityloop.basemap.tiles import tile_for
from cityloop.config import Settings


@pytest.fixture
def tiles_file(tmp_path, session, world):
    path = tmp_path / "var" / "basemap.mbtiles"
    source.build(session, path, maxzoom=15)
    return path


@pytest.fixture
def map_api(settings, engine, session_factory, read_session_factory, clock, tiles_file):
    from fastapi.testclient import TestClient

    s = settings.model_copy(update={"map_tiles_path": tiles_file})
    app = create_app(s, engine=engine, session_factory=session_factory, read_session_factory=read_session_factory,
                     clock=clock)
    return TestClient(app)


def _config(text: str) -> dict:
    prefix = "window.CITYLOOP_MAP = "
    assert text.startswith(prefix)
    return json.loads(text[len(prefix):].rstrip().rstrip(";"))


def test_a_tile_of_the_county_seat_is_gzipped_mvt_with_roads_and_builtup(map_api, world):
    lon, lat = world.point("341122100001001")
    z, x, y = tile_for(lon, lat, 13)
    r = map_api.get(f"/map/tiles/{z}/{x}/{y}.pbf", headers={"Accept-Encoding": "identity"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    assert r.headers["content-encoding"] == "gzip"
    assert "max-age" in r.headers["cache-control"] and "no-store" not in r.headers["cache-control"]
    layers = mapbox_vector_tile.decode(r.content if r.content[:2] != b"\x1f\x8b" else gzip.decompress(r.content))
    assert "builtup" in set(layers), set(layers)
    assert {f["properties"]["name"] for f in layers["roads"]["features"]} >= {"永阳大道"}


def test_missing_and_impossible_tiles(map_api):
    empty = map_api.get("/map/tiles/8/0/0.pbf")  # a real tile far away from the county: nothing to draw
    assert empty.status_code == 204 and empty.content == b""
    for path in ("/map/tiles/8/256/0.pbf", "/map/tiles/30/0/0.pbf", "/map/tiles/8/0/0.png",
                 "/map/tiles/8/0/0.pbf.gz", "/map/tiles/8/0/..%2F..%2Fcityloop.db", "/map/tiles/8/0/%2e%2e"):
        r = map_api.get(path)
        assert r.status_code == 404, path
        assert r.headers["content-type"].startswith("application/problem+json")
    for path in ("/map/tiles/x/0/0.pbf", "/map/tiles/8/-/0.pbf"):
        assert map_api.get(path).status_code == 422, path
    assert map_api.get("/map/tiles/8/0/../../../etc/passwd").status_code == 404


def test_no_local_file_means_404_tiles_and_no_base(api, world):
    r = api.get("/map/tiles/12/3400/1650.pbf")
    assert r.status_code == 404
    config = _config(api.get("/map/config.js").text)
    assert config["source"] == "none" and config["tiles"] is None


def test_config_gives_local_tiles_and_the_district_bounds(map_api, world):
    r = map_api.get("/map/config.js")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/javascript")
    config = _config(r.text)
    assert config["source"] == "local" and config["tiles"] == "/map/tiles/{z}/{x}/{y}.pbf"
    assert config["crs"] == "wgs84" and config["maxDataZoom"] == 15
    w, s, e, n = config["bounds"]
    lon, lat = world.point("341122100001001")
    assert w < lon < e and s < lat < n
    assert w < config["center"][0] < e and s < config["center"][1] < n


def test_csp_names_no_other_host_unless_a_tile_url_is_set(settings, engine, session_factory, read_session_factory,
                                                          clock, world):
    from fastapi.testclient import TestClient

    def policy(**extra) -> str:
        app = create_app(settings.model_copy(update=extra), engine=engine, session_factory=session_factory,
                         read_session_factory=read_session_factory, clock=clock)
        return TestClient(app).get("/m/report").headers["content-security-policy"]

    plain = policy()
    assert "http" not in plain and "*" not in plain  # only 'self', data: and blob:
    assert "connect-src 'self';" in plain
    tdt = policy(map_tile_url="https://t{s}.tianditu.gov.cn/vec_w/wmts?tk=KEY&x={x}&y={y}&l={z}",
                 map_tile_crs="cgcs2000")
    assert "https://*.tianditu.gov.cn" in tdt
    app = create_app(settings.model_copy(update={"map_tile_url": "https://tiles.example.org/{z}/{x}/{y}.png",
                                                 "map_tile_crs": "gcj02"}),
                     engine=engine, session_factory=session_factory, read_session_factory=read_session_factory,
                     clock=clock)
    config = _config(TestClient(app).get("/map/config.js").text)
    assert config["source"] == "url" and config["crs"] == "gcj02"


def test_settings_refuse_an_unknown_tile_crs():
    with pytest.raises(ValueError):
        Settings(demo=True, map_tile_crs="bd09")


@pytest.fixture
def cli(tmp_path, monkeypatch):
    from cityloop.cli import _mount_optional, app
    from cityloop.config import get_settings

    target = tmp_path / "installed" / "basemap.mbtiles"
    monkeypatch.setenv("CITYLOOP_DEMO", "1")
    monkeypatch.setenv("CITYLOOP_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("CITYLOOP_MAP_TILES_PATH", str(target))
    get_settings.cache_clear()
    _mount_optional()
    yield (lambda *args: CliRunner().invoke(app, list(args))), target
    get_settings.cache_clear()


def test_import_installs_a_good_file(cli, tiles_file):
    run, target = cli
    result = run("map", "import", str(tiles_file))
    assert result.exit_code == 0, result.output
    assert target.read_bytes() == tiles_file.read_bytes()
    assert not [p for p in target.parent.iterdir() if p != target]  # no temp file left behind


def _corrupt_variants(good, tmp_path):
    """(name, path) of broken tile files made from a good one."""
    out = []
    cut = tmp_path / "cut.mbtiles"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    out.append(("truncated", cut))
    noise = tmp_path / "noise.mbtiles"
    noise.write_bytes(b"SQLite format 3\x00" + bytes(range(256)) * 64)
    out.append(("garbage after the magic", noise))
    text = tmp_path / "text.mbtiles"
    text.write_text("not a map")
    out.append(("not sqlite", text))
    bad_tile = tmp_path / "badtile.mbtiles"
    shutil.copy(good, bad_tile)
    with sqlite3.connect(bad_tile) as db:
        db.execute("UPDATE tiles SET tile_data = ?", (gzip.compress(b"\xff\xff\xff\xff not protobuf"),))
    out.append(("tiles that do not decode", bad_tile))
    no_meta = tmp_path / "nometa.mbtiles"
    shutil.copy(good, no_meta)
    with sqlite3.connect(no_meta) as db:
        db.execute("DROP TABLE metadata")
    out.append(("no metadata", no_meta))
    empty = tmp_path / "empty.mbtiles"
    shutil.copy(good, empty)
    with sqlite3.connect(empty) as db:
        db.execute("DELETE FROM tiles")
    out.append(("no tiles", empty))
    return out


def test_import_refuses_corrupt_files_and_changes_nothing(cli, tiles_file, tmp_path):
    run, target = cli
    assert run("map", "import", str(tiles_file)).exit_code == 0
    before = target.read_bytes()
    for name, path in _corrupt_variants(tiles_file, tmp_path):
        result = run("map", "import", str(path))
        assert result.exit_code == 1, (name, result.output)
        assert "导入失败，未作任何更改" in result.output, (name, result.output)
        assert target.read_bytes() == before, name
        assert sorted(target.parent.iterdir()) == [target], name
    result = run("map", "import", str(tmp_path / "missing.mbtiles"))
    assert result.exit_code == 1 and "文件不存在" in result.output
    assert run("map", "import", str(tmp_path / "x.geojson")).exit_code == 2


def test_a_first_import_that_fails_installs_nothing(cli, tmp_path):
    run, target = cli
    bad = tmp_path / "bad.mbtiles"
    bad.write_bytes(b"SQLite format 3\x00" + b"\x00" * 4000)
    assert run("map", "import", str(bad)).exit_code == 1
    assert not target.exists() and not (target.parent.exists() and any(target.parent.iterdir()))
