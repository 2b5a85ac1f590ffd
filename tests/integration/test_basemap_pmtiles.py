"""PMTiles base maps: `cityloop map import FILE.pmtiles` installs one and /map/tiles serves its tiles exactly as the
MBTiles it was made from; random bytes, a truncated archive or text named .pmtiles are refused with a clear error
and the installed map stays as it was. Tiles carry an ETag and a browser's current copy gets a 304."""

from __future__ import annotations

import os
import sqlite3

import pytest
from fastapi.testclient import TestClient
from pmtiles.convert import mbtiles_to_pmtiles
from typer.testing import CliRunner

from cityloop.app import create_app
from cityloop.basemap import source


@pytest.fixture
def mbtiles_file(tmp_path, session, world):
    path = tmp_path / "made" / "demo.mbtiles"
    source.build(session, path, maxzoom=14)
    return path


@pytest.fixture
def pmtiles_file(mbtiles_file, tmp_path):
    path = tmp_path / "made" / "demo.pmtiles"
    mbtiles_to_pmtiles(str(mbtiles_file), str(path), None)
    return path


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


def _stored(mbtiles) -> list[tuple[int, int, int, bytes]]:
    with sqlite3.connect(mbtiles) as db:
        rows = db.execute("SELECT zoom_level, tile_column, tile_row, tile_data FROM tiles").fetchall()
    return [(z, x, (1 << z) - 1 - r, bytes(d)) for z, x, r, d in rows]


def test_an_imported_pmtiles_map_is_served_like_the_mbtiles_it_came_from(cli, mbtiles_file, pmtiles_file, settings,
                                                                        engine, session_factory,
                                                                        read_session_factory, clock):
    run, target = cli
    result = run("map", "import", str(pmtiles_file))
    assert result.exit_code == 0, result.output
    assert "底图已安装" in result.output and "pbf" in result.output
    assert target.read_bytes() == pmtiles_file.read_bytes()
    assert sorted(target.parent.iterdir()) == [target]
    app = create_app(settings.model_copy(update={"map_tiles_path": target}), engine=engine,
                     session_factory=session_factory, read_session_factory=read_session_factory, clock=clock)
    api = TestClient(app)
    stored = _stored(mbtiles_file)
    for z, x, y, data in stored[:: max(1, len(stored) // 40)]:
        r = api.get(f"/map/tiles/{z}/{x}/{y}.pbf", headers={"Accept-Encoding": "identity"})
        assert r.status_code == 200, (z, x, y)
        assert r.headers["content-encoding"] == "gzip" and r.headers["content-type"] == \
            "application/vnd.mapbox-vector-tile"
        raw = api.get(f"/map/tiles/{z}/{x}/{y}.pbf", headers={"Accept-Encoding": "identity"}).content
        assert raw == data or __import__("gzip").decompress(data) == raw
        again = api.get(f"/map/tiles/{z}/{x}/{y}.pbf", headers={"If-None-Match": r.headers["etag"]})
        assert again.status_code == 304 and again.content == b""
    assert api.get("/map/tiles/8/0/0.pbf").status_code == 204
    assert api.get("/map/tiles/8/0/0.png").status_code == 404
    config = api.get("/map/config.js").text
    assert '"source": "local"' in config and '"tiles": "/map/tiles/{z}/{x}/{y}.pbf"' in config


def _broken(good, tmp_path) -> list[tuple[str, object]]:
    data = good.read_bytes()
    out = []
    noise = tmp_path / "noise.pmtiles"
    noise.write_bytes(os.urandom(50_000))
    out.append(("random bytes", noise))
    cut = tmp_path / "cut.pmtiles"
    cut.write_bytes(data[: len(data) // 2])
    out.append(("truncated", cut))
    head = tmp_path / "head.pmtiles"
    head.write_bytes(data[:60])
    out.append(("header only, half of it", head))
    text = tmp_path / "text.pmtiles"
    text.write_text("这不是地图 / this is not a map\n" * 20)
    out.append(("text named .pmtiles", text))
    magic = tmp_path / "magic.pmtiles"
    magic.write_bytes(b"PMTiles\x03" + os.urandom(4000))
    out.append(("magic then noise", magic))
    tiles = tmp_path / "badtiles.pmtiles"
    tiles.write_bytes(data[:-2000] + os.urandom(2000))
    out.append(("tile data overwritten", tiles))
    return out


def test_a_broken_pmtiles_file_is_refused_and_the_old_map_stays(cli, mbtiles_file, pmtiles_file, tmp_path):
    run, target = cli
    assert run("map", "import", str(mbtiles_file)).exit_code == 0
    before = target.read_bytes()
    for name, path in _broken(pmtiles_file, tmp_path):
        result = run("map", "import", str(path))
        assert result.exit_code == 1, (name, result.output)
        assert "导入失败，未作任何更改" in result.output and "Traceback" not in result.output, (name, result.output)
        assert target.read_bytes() == before, name
        assert sorted(target.parent.iterdir()) == [target], name


def test_a_first_pmtiles_import_that_fails_installs_nothing(cli, tmp_path):
    run, target = cli
    bad = tmp_path / "bad.pmtiles"
    bad.write_bytes(os.urandom(10_000))
    result = run("map", "import", str(bad))
    assert result.exit_code == 1 and "PMTiles" in result.output
    assert not target.exists()


def test_a_map_replaced_while_serving_is_picked_up(cli, mbtiles_file, pmtiles_file, settings, engine,
                                                   session_factory, read_session_factory, clock):
    import time

    run, target = cli
    assert run("map", "import", str(mbtiles_file)).exit_code == 0
    app = create_app(settings.model_copy(update={"map_tiles_path": target}), engine=engine,
                     session_factory=session_factory, read_session_factory=read_session_factory, clock=clock)
    api = TestClient(app)
    z, x, y, _ = _stored(mbtiles_file)[-1]
    before = api.get(f"/map/tiles/{z}/{x}/{y}.pbf")
    assert before.status_code == 200
    assert run("map", "import", str(pmtiles_file)).exit_code == 0
    time.sleep(0.6)  # the server looks at the file at most twice a second
    after = api.get(f"/map/tiles/{z}/{x}/{y}.pbf", headers={"If-None-Match": before.headers["etag"]})
    assert after.status_code == 200 and after.headers["etag"] != before.headers["etag"]
    assert after.content == before.content
