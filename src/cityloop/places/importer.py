"""`cityloop places import`: a GeoJSON FeatureCollection or a CSV of roads (lines with names and house-number
ranges), door-plate addresses (points) and POIs/communities/towns (points). Every feature is checked before
anything is written; then the places of the same source are replaced in the caller's one transaction."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from sqlalchemy import delete
from sqlalchemy.orm import Session

from cityloop.channels.models import GazetteerEntry
from cityloop.geo.coords import COORD_SYSTEMS, to_wgs84_np
from cityloop.places.index import Geometry
from cityloop.places.models import PlaceAddress, PlaceRoad
from cityloop.shared.errors import Invalid

POINT_KINDS = ("poi", "community", "town")
KINDS = ("road", "address", *POINT_KINDS)
RANGE_FIELDS = ("left_from", "left_to", "right_from", "right_to")
MAX_ERRORS = 20
MAX_NAME = 100
Props = dict[str, Any]  # a feature's properties (GeoJSON) or a CSV row
Item = tuple[int, Props, Any]  # where (feature index or line), properties, raw geometry (GeoJSON text or object)


class FeatureError(ValueError):
    """One feature is unusable; the message says why in both languages."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(en)
        self.zh, self.en = zh, en


@dataclass
class Parsed:
    """The validated content of a file, nothing written yet."""

    roads: list[PlaceRoad] = field(default_factory=list)
    addresses: list[PlaceAddress] = field(default_factory=list)
    points: list[GazetteerEntry] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """How many of each were read."""
        return {"roads": len(self.roads), "addresses": len(self.addresses), "pois": len(self.points)}


def _text(props: Props, key: str, required: bool = False, what: str = "") -> str | None:
    value = props.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise FeatureError(f"缺少{what or key}（{key}）", f"{key} is missing")
        return None
    value = str(value).strip()
    if len(value) > MAX_NAME:
        raise FeatureError(f"{key} 超过 {MAX_NAME} 字", f"{key} is longer than {MAX_NAME} characters")
    return value


def _int(props: Props, key: str) -> int | None:
    value = props.get(key)
    if value is None or value == "":
        return None
    try:
        number = int(str(value).strip().removesuffix("号"))
    except ValueError as exc:
        raise FeatureError(f"{key} 不是整数：{str(value)[:20]}", f"{key} is not a whole number") from exc
    if not 0 < number < 100_000:
        raise FeatureError(f"{key} 超出范围", f"{key} is out of range")
    return number


def _geometry(raw: Any, coord_sys: str) -> Geometry:
    """A valid, non-empty geometry in WGS84, or a FeatureError."""
    try:
        geom = shapely.from_geojson(raw if isinstance(raw, str) else json.dumps(raw))
    except (shapely.errors.GEOSException, ValueError, TypeError) as exc:
        raise FeatureError("几何无效（无法解析）", "invalid geometry (cannot be parsed)") from exc
    if geom is None or geom.is_empty:
        raise FeatureError("几何为空", "empty geometry")
    xy = shapely.get_coordinates(geom)
    if not np.isfinite(xy).all() or (np.abs(xy[:, 0]) > 180).any() or (np.abs(xy[:, 1]) > 90).any():
        raise FeatureError("坐标超出经纬度范围", "coordinates are not longitude/latitude")
    if coord_sys not in ("wgs84", "cgcs2000"):
        geom = shapely.transform(geom, lambda c: np.column_stack(to_wgs84_np(c[:, 0], c[:, 1], coord_sys)))
    if not geom.is_valid:
        raise FeatureError(f"几何无效：{shapely.is_valid_reason(geom)}", f"invalid geometry: {shapely.is_valid_reason(geom)}")
    return geom


def _feature(props: Props, geom: Geometry, source: str, out: Parsed) -> None:
    """Validate one feature and add its row to out."""
    kind = (props.get("kind") or "").strip() if isinstance(props.get("kind"), str) else None
    if not kind:
        kind = "road" if geom.geom_type in ("LineString", "MultiLineString") else \
            "address" if props.get("number") not in (None, "") else "poi"
    if kind not in KINDS:
        raise FeatureError(f"类型 {str(kind)[:20]} 无效（应为 {'、'.join(KINDS)}）", f"kind must be one of {', '.join(KINDS)}")
    if kind == "road":
        name = _text(props, "name", True, "道路名称")
        if geom.geom_type not in ("LineString", "MultiLineString"):
            raise FeatureError("道路必须是线（LineString）", "a road must be a LineString or MultiLineString")
        if geom.length == 0:
            raise FeatureError("道路长度为零", "the road has no length")
        ranges = [_int(props, k) for k in RANGE_FIELDS]
        out.roads.append(PlaceRoad(name=name, town=_text(props, "town"), geometry=shapely.to_geojson(geom),
                                   left_from=ranges[0], left_to=ranges[1], right_from=ranges[2], right_to=ranges[3],
                                   source=source))
        return
    if geom.geom_type != "Point":
        if kind == "address" or geom.geom_type not in ("Polygon", "MultiPolygon"):
            raise FeatureError(f"{kind} 必须是点（Point）", f"a {kind} must be a Point")
        geom = geom.representative_point()
    lon, lat = round(geom.x, 7), round(geom.y, 7)
    if kind == "address":
        road = _text(props, "road", True, "门牌所在道路")
        number = _int(props, "number")
        if number is None:
            raise FeatureError("缺少门牌号（number）", "number is missing")
        out.addresses.append(PlaceAddress(road=road, number=number, town=_text(props, "town"), lon=lon, lat=lat,
                                          source=source))
        return
    name = _text(props, "name", True, "名称")
    alias = props.get("alias") or props.get("aliases")
    alias = ",".join(alias) if isinstance(alias, list) else (str(alias) if alias else None)
    out.points.append(GazetteerEntry(name=name, kind=kind, alias=alias[:200] if alias else None,
                                     address=_text(props, "town") or _text(props, "address"), lon=lon, lat=lat,
                                     source=source))


def _collect(items: Iterable[Item], source: str, coord_sys: str, label: Callable[[int], tuple[str, str]]) -> Parsed:
    out, errors = Parsed(), list[dict[str, Any]]()
    for where, props, raw in items:
        try:
            _feature(props, _geometry(raw, coord_sys), source, out)
        except FeatureError as exc:
            errors.append({"at": where, "zh": f"{label(where)[0]}：{exc.zh}", "en": f"{label(where)[1]}: {exc.en}"})
            if len(errors) >= MAX_ERRORS:
                break
    if errors:
        more = "（仅列出前 20 个）" if len(errors) >= MAX_ERRORS else ""
        raise Invalid("places-invalid", "；".join(e["zh"] for e in errors[:5]) + more + "。未导入任何数据。",
                      "; ".join(e["en"] for e in errors[:5]) + ". Nothing was imported.", errors=errors)
    return out


def parse_geojson(text: str, source: str, coord_sys: str = "wgs84") -> Parsed:
    """Validate a GeoJSON FeatureCollection; a bad feature is a 422 naming its index (features[i])."""
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise Invalid("places-json", "文件不是有效的 JSON", "The file is not valid JSON") from exc
    features = doc.get("features") if isinstance(doc, dict) else None
    if not isinstance(features, list) or not features:
        raise Invalid("places-empty", "GeoJSON 中没有要素（features）", "The GeoJSON has no features")

    def items() -> Iterator[Item]:
        for i, f in enumerate(features):
            props = f.get("properties") if isinstance(f, dict) else None
            yield i, props if isinstance(props, dict) else {}, (f.get("geometry") if isinstance(f, dict) else None) \
                or "null"

    return _collect(items(), source, coord_sys, lambda i: (f"第 {i} 个要素（features[{i}]）", f"features[{i}]"))


CSV_COLUMNS = ("kind", "name", "road", "number", "alias", "town", "lon", "lat", "wkt", *RANGE_FIELDS)


def parse_csv(text: str, source: str, coord_sys: str = "wgs84") -> Parsed:
    """Validate a CSV (kind, name, road, number, alias, town, lon, lat, wkt, left_from…right_to): a road has a
    WKT line, the others lon/lat. A bad row is a 422 naming its line."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    if "kind" not in (reader.fieldnames or []):
        raise Invalid("places-columns", "CSV 缺少列：kind", "The CSV has no kind column")

    def items() -> Iterator[Item]:
        for line, rec in enumerate(reader, start=2):
            props = {k: (v or "").strip() for k, v in rec.items() if k}
            if props.get("wkt"):
                try:
                    raw = shapely.to_geojson(shapely.from_wkt(props["wkt"]))
                except (shapely.errors.GEOSException, ValueError):
                    raw = "{}"
            else:
                try:
                    x, y = float(props.get("lon", "")), float(props.get("lat", ""))
                    raw = json.dumps({"type": "Point", "coordinates": [x, y]}) if math.isfinite(x + y) else "{}"
                except ValueError:
                    raw = "{}"
            yield line, props, raw

    out = _collect(items(), source, coord_sys, lambda n: (f"第 {n} 行", f"line {n}"))
    if not (out.roads or out.addresses or out.points):
        raise Invalid("places-empty", "CSV 中没有数据行", "The CSV has no rows")
    return out


def parse_file(name: str, text: str, source: str, coord_sys: str = "wgs84") -> Parsed:
    """By file name: .geojson/.json or .csv."""
    if coord_sys not in COORD_SYSTEMS:
        raise Invalid("coord-sys", f"未知坐标系 {coord_sys}", f"Unknown coordinate system {coord_sys}")
    lower = name.lower()
    if lower.endswith((".geojson", ".json")):
        return parse_geojson(text, source, coord_sys)
    if lower.endswith(".csv"):
        return parse_csv(text, source, coord_sys)
    raise Invalid("places-format", "只支持 .geojson 或 .csv 文件", "Only .geojson and .csv files are supported")


def replace(session: Session, parsed: Parsed, source: str) -> dict[str, int]:
    """Replace the places of this source with the parsed ones (not committed: the caller's one transaction)."""
    for model in (PlaceRoad, PlaceAddress, GazetteerEntry):
        session.execute(delete(model).where(model.source == source))
    session.add_all([*parsed.roads, *parsed.addresses, *parsed.points])
    session.flush()
    return parsed.counts()
