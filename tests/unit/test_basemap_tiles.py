"""Base-map tile building: a tile at a known z/x/y holds the expected layers and features, clipped to the tile;
tile names and the choice of source."""

from __future__ import annotations

import gzip
import sqlite3

import mapbox_vector_tile
import shapely

from cityloop.basemap import domain
from cityloop.basemap.mbtiles import TileStore, validate
from cityloop.basemap.tiles import Feature, build_tiles, tile_for, write

ROAD = shapely.LineString([(118.40, 32.452), (118.47, 32.452)])
RIVER = shapely.LineString([(118.40, 32.445), (118.47, 32.445)]).buffer(0.0003)
TOWN = shapely.box(118.38, 32.42, 118.49, 32.49)
FEATURES = [Feature("roads", ROAD, {"kind": "street", "name": "永阳路"}, 12),
            Feature("water", RIVER, {"kind": "river", "name": "来河"}),
            Feature("boundary", shapely.boundary(TOWN), {"kind": "town", "name": "新安镇"}),
            Feature("places", shapely.Point(118.435, 32.46), {"kind": "town", "name": "新安镇"}, 9)]


def _decode(data: bytes) -> dict:
    assert data[:2] == b"\x1f\x8b"  # stored gzip, as MBTiles vector tiles usually are
    return mapbox_vector_tile.decode(gzip.decompress(data))


def test_a_street_tile_holds_the_road_with_its_name_the_river_and_the_label():
    tiles = build_tiles(FEATURES, 10, 15)
    z, x, y = tile_for(118.435, 32.452, 15)
    layers = _decode(tiles[(z, x, y)])
    assert set(layers) >= {"roads", "water"}
    road = layers["roads"]["features"][0]
    assert road["properties"] == {"kind": "street", "name": "永阳路"}
    xs = [p[0] for p in road["geometry"]["coordinates"]]
    assert min(xs) < 0 and max(xs) > 4096  # clipped to the tile plus its buffer, not the whole 6 km line
    assert max(xs) < 4096 + 4096 * 0.05


def test_minzoom_keeps_streets_off_small_scales_and_labels_in_one_tile():
    tiles = build_tiles(FEATURES, 10, 13)
    low = _decode(tiles[tile_for(118.435, 32.452, 11)])
    assert "roads" not in low and "water" in low and "places" in low
    label_tiles = [k for k, v in tiles.items() if k[0] == 13 and "places" in _decode(v)]
    assert label_tiles == [tile_for(118.435, 32.46, 13)]


def test_detail_zooms_are_cut_only_over_the_detail_area():
    detail = (118.43, 32.45, 118.44, 32.455)
    tiles = build_tiles(FEATURES, 12, 15, detail=detail, detail_from=14)
    z15 = {k for k in tiles if k[0] == 15}
    assert z15 and all(k[0] == 15 for k in z15)
    assert tile_for(118.405, 32.452, 15) not in tiles  # on the road but outside the detail area
    assert tile_for(118.405, 32.452, 13) in tiles


def test_written_file_is_valid_mbtiles_in_tms_rows(tmp_path):
    path = tmp_path / "m.mbtiles"
    count = write(path, FEATURES, name="test", minzoom=10, maxzoom=14)
    meta = validate(path)
    assert meta["format"] == "pbf" and meta["minzoom"] == "10" and meta["maxzoom"] == "14"
    assert "roads" in meta["json"]
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT count(*) FROM tiles").fetchone()[0] == count
    z, x, y = tile_for(118.435, 32.452, 14)
    store = TileStore(path)
    assert "roads" in _decode(store.tile(z, x, y))
    assert store.tile(z, x, (1 << z) - 1 - y) is None  # XYZ is flipped to TMS inside the file
    assert not list(tmp_path.glob("*.building"))


def test_tile_names():
    assert domain.parse_tile(14, 13000, "6000.pbf") == (14, 13000, 6000, "pbf")
    assert domain.parse_tile(14, 13000, "6000.mvt") == (14, 13000, 6000, "pbf")
    assert domain.parse_tile(2, 3, "3.png") == (2, 3, 3, "png")
    for z, x, name in ((2, 4, "1.pbf"), (2, 1, "4.pbf"), (-1, 0, "0.pbf"), (25, 0, "0.pbf"), (3, 1, "1.pbf.."),
                       (3, 1, "..%2f1.pbf"), (3, 1, "1.exe"), (3, 1, "-1.pbf"), (3, -1, "1.pbf")):
        assert domain.parse_tile(z, x, name) is None, (z, x, name)


def test_source_preference():
    assert domain.base_source(True, "https://t{s}.tianditu.gov.cn/x") == "local"
    assert domain.base_source(False, "https://tiles.example.org/{z}/{x}/{y}.png") == "url"
    assert domain.base_source(False, None) == "none"
