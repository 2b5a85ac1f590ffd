"""Lai'an county (来安县) for the demo: the real county boundary, the real towns and communities (names and
statistical codes), and schematic town/community boundaries generated inside the county.

Town and community boundaries are not published as open data, so they are drawn here: towns are Voronoi
cells around approximate town seats, clipped to the county; the county seat's urban area (城区) is shared
among its 12 urban communities; villages are Voronoi cells around seeded points. See data/SOURCES.md.
"""

from __future__ import annotations

from typing import Any

import csv
import json
import random
from importlib import resources

import numpy as np
import shapely
from shapely.geometry import mapping

COUNTY = "341122"
SEAT = "341122100"  # 新安镇, the county seat
# Approximate town seats (WGS84); only used to draw schematic boundaries.
TOWN_SEATS = {
    "341122100": (118.435, 32.452), "341122101": (118.635, 32.665), "341122102": (118.590, 32.340),
    "341122103": (118.600, 32.245), "341122104": (118.530, 32.540), "341122105": (118.480, 32.345),
    "341122106": (118.450, 32.255), "341122107": (118.395, 32.395), "341122108": (118.480, 32.705),
    "341122109": (118.390, 32.530), "341122110": (118.440, 32.610), "341122203": (118.600, 32.440),
}
# The urban area (城区) that digital city management covers: its communities' seats, buffered by ~600 m.
URBAN_MARGIN = 0.006
URBAN_SEEDS = {
    "341122100001": (118.436, 32.463), "341122100002": (118.421, 32.453), "341122100003": (118.416, 32.468),
    "341122100004": (118.424, 32.439), "341122100005": (118.441, 32.438), "341122100006": (118.452, 32.470),
    "341122100007": (118.448, 32.454), "341122100008": (118.435, 32.450), "341122100009": (118.455, 32.440),
    "341122100010": (118.411, 32.441), "341122100011": (118.428, 32.472), "341122100400": (118.462, 32.456),
}


def _data(name: str) -> str:
    return resources.files("cityloop.demo").joinpath("data", name).read_text(encoding="utf-8")


def county_boundary() -> shapely.Geometry:
    """The county polygon (WGS84)."""
    return shapely.from_geojson(json.dumps(json.loads(_data("laian_boundary.geojson"))["features"][0]["geometry"]))


def divisions() -> list[dict[str, Any]]:
    """Towns (street level) and communities/villages with their statistical codes and names."""
    rows = list(csv.DictReader(_data("laian_divisions.csv").splitlines()))
    for row in rows:  # statistical names end in 居委会/村委会; people say 北门社区, 岱山村
        row["name"] = row["name"].removesuffix("居委会").removesuffix("委会")
    return rows


def _voronoi(seeds: dict[str, tuple[float, float]], within: shapely.Geometry) -> dict[str, shapely.Geometry]:
    codes = list(seeds)
    points = shapely.points(np.array([seeds[c] for c in codes]))
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(points), extend_to=within))
    out: dict[str, shapely.Geometry] = {}
    for cell in cells:  # voronoi output order is not the input order: match cells to seeds by containment
        code = codes[int(np.flatnonzero(shapely.contains(cell, points))[0])]
        out[code] = shapely.intersection(cell, within)
    return out


def _seeds_inside(area: shapely.Geometry, count: int, rng: random.Random) -> list[tuple[float, float]]:
    minx, miny, maxx, maxy = area.bounds
    seeds: list[tuple[float, float]] = []
    while len(seeds) < count:
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if area.contains(shapely.Point(x, y)):
            seeds.append((x, y))
    return seeds


def _polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    return shapely.union_all([p for p in shapely.get_parts(geom) if p.geom_type == "Polygon"])


def region_features(seed: int = 341122) -> dict[str, Any]:
    """A GeoJSON FeatureCollection of the county, its towns and all communities/villages (codes 6/9/12 digits)."""
    rng = random.Random(seed)
    county = county_boundary()
    rows = divisions()
    towns = {r["code"]: r["name"] for r in rows if r["level"] == "street"}
    urban = shapely.intersection(
        shapely.buffer(shapely.convex_hull(shapely.multipoints(list(URBAN_SEEDS.values()))), URBAN_MARGIN), county)
    town_shapes = _voronoi({c: TOWN_SEATS[c] for c in towns}, county)
    town_shapes = {c: (shapely.union(g, urban) if c == SEAT else shapely.difference(g, urban))
                   for c, g in town_shapes.items()}
    shapes = {COUNTY: county, **town_shapes}
    shapes.update(_voronoi(URBAN_SEEDS, urban))
    for town in towns:
        members = [r["code"] for r in rows if r["level"] == "community" and r["code"].startswith(town)
                   and r["code"] not in URBAN_SEEDS]
        area = shapely.difference(town_shapes[town], urban) if town == SEAT else town_shapes[town]
        if members:
            shapes.update(_voronoi(dict(zip(members, _seeds_inside(area, len(members), rng))), area))
    names = {COUNTY: "来安县", **{r["code"]: r["name"] for r in rows}}
    levels = {6: "district", 9: "street", 12: "community"}
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": code, "name": names[code], "level": levels[len(code)]},
         "geometry": mapping(_polygonal(geom))}
        for code, geom in sorted(shapes.items())]}


def urban_communities() -> list[str]:
    """The communities of the urban area, where unit grids are drawn."""
    return sorted(URBAN_SEEDS)
