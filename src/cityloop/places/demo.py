"""The demo county's 地理编码 data: named roads of the county seat as lines across its urban unit grids, with
house-number ranges and some door plates (SCHEMATIC: the names are common county-seat road names, the lines are
drawn straight across the grids; see demo/data/SOURCES.md)."""

from __future__ import annotations

import shapely
from sqlalchemy import insert
from sqlalchemy.orm import Session

from cityloop.places.index import metres
from cityloop.places.models import PlaceAddress, PlaceRoad

SOURCE = "demo-schematic"
PLATE_SPACING_M = 15  # one house number per this many metres on each side
PLATE_EVERY = 10  # a door-plate point for every tenth number (and its neighbour: 1, 8, 11, 18 …)


def build_roads(session: Session, grids_bounds: tuple[float, float, float, float], names: list[str],
                town: str | None) -> tuple[int, int]:
    """Even-numbered names run west–east, odd ones south–north, evenly spaced over the bounds; odd house numbers on
    the left, even on the right; returns (roads, door plates)."""
    x0, y0, x1, y1 = grids_bounds
    ew, ns = names[0::2], names[1::2]
    roads, plates = [], []
    for k, name in enumerate(ew):
        y = y0 + (k + 0.5) * (y1 - y0) / len(ew)
        roads.append((name, shapely.LineString([(x0, y), (x1, y)])))
    for k, name in enumerate(ns):
        x = x0 + (k + 0.5) * (x1 - x0) / len(ns)
        roads.append((name, shapely.LineString([(x, y0), (x, y1)])))
    for name, line in roads:
        (ax, ay), (bx, by) = line.coords
        length = metres(ax, ay, bx, by)
        top = max(2, int(length / PLATE_SPACING_M) * 2)
        left, right = (1, top - 1), (2, top)
        session.add(PlaceRoad(name=name, town=town, geometry=shapely.to_geojson(line), left_from=left[0],
                              left_to=left[1], right_from=right[0], right_to=right[1], source=SOURCE))
        # a door plate sits 8 m off the line on its side: left of the direction of travel is odd
        dx, dy = (bx - ax) / max(length, 1), (by - ay) / max(length, 1)
        for number in range(1, top + 1):
            if number % PLATE_EVERY not in (1, 8):
                continue
            side = (1, 2)[number % 2 == 0]
            start, end = (left, right)[side - 1]
            f = (number - start) / max(end - start, 1)
            px, py = ax + f * (bx - ax), ay + f * (by - ay)
            off = 8 if side == 1 else -8
            plates.append(dict(road=name, number=number, town=town, lon=round(px - dy * off, 6),
                               lat=round(py + dx * off, 6), source=SOURCE))
    if plates:
        session.execute(insert(PlaceAddress), plates)
    return len(roads), len(plates)
