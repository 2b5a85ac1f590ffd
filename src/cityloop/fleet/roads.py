"""The demo county's synthetic muck-truck geography (SYNTHETIC: Lai'an publishes no road data, so roads, sites and
zones are drawn here around the county seat): a few named arterials and county roads with speed limits, sites as
small polygons, restricted zones (the old town, schools), and a shortest-path router over the roads that keeps
out of restricted zones when it can."""

from __future__ import annotations

import heapq
import math

import shapely

# Junctions (WGS84) and the roads between them: (name, speed limit km/h, width m, junctions in order).
NODES = {
    "W": (118.409, 32.452), "A": (118.420, 32.452), "B": (118.435, 32.452), "C": (118.455, 32.453),
    "E": (118.480, 32.453), "S1": (118.420, 32.437), "N1": (118.421, 32.472), "S2": (118.435, 32.435),
    "N2": (118.436, 32.474), "S3": (118.452, 32.437), "N3": (118.452, 32.471), "NW": (118.412, 32.468),
    "SW": (118.411, 32.438), "K1": (118.500, 32.380), "K2": (118.560, 32.300), "CH": (118.600, 32.246),
    "K3": (118.520, 32.550), "BT": (118.634, 32.664),
}
ROADS = [
    ("永阳大道", 40, 30, ["W", "A", "B", "C", "E"]),
    ("紫薇路", 40, 24, ["S1", "A", "N1"]),
    ("建设路", 40, 24, ["S2", "B", "N2"]),
    ("东环路", 50, 30, ["S3", "C", "N3"]),
    ("北环路", 50, 30, ["NW", "N1", "N2", "N3"]),
    ("南环路", 50, 30, ["SW", "S1", "S2", "S3"]),
    ("西环路", 50, 30, ["SW", "W", "NW"]),
    ("S312 来汊路", 60, 20, ["S3", "K1", "K2", "CH"]),
    ("G104 来半路", 60, 20, ["N3", "K3", "BT"]),
]
# (kind, name, centre lon, lat, half size in metres)
SITES = [
    ("construction", "城北安置房项目工地", 118.445, 32.469, 110),
    ("construction", "永阳新城商业综合体工地", 118.426, 32.446, 100),
    ("construction", "东区学校改扩建工地", 118.459, 32.459, 90),
    ("construction", "城南道路改造工程工地", 118.442, 32.440, 90),
    ("construction", "汊河新区厂房工地", 118.596, 32.252, 120),
    ("disposal", "西郊建筑垃圾消纳场", 118.4125, 32.4600, 120),
    ("disposal", "东郊渣土消纳场", 118.4600, 32.4450, 100),
    ("depot", "城东渣土车停车场", 118.4470, 32.4440, 70),
]
# (name, polygon or (lon, lat, radius m), hours)
# (name, a polygon's corners or a circle's (lon, lat, radius in metres), hours)
RESTRICTED: list[tuple[str, list[tuple[float, float]] | tuple[float, float, float], list[str]]] = [
    ("老城区禁行区", [(118.430, 32.448), (118.440, 32.448), (118.440, 32.457), (118.430, 32.457)], []),
    ("县第一中学周边", (118.4355, 32.4660, 120), ["07:00-08:30", "11:30-13:30", "16:30-18:00"]),
    ("实验小学周边", (118.4200, 32.4440, 110), ["07:00-08:30", "11:30-13:30", "16:30-18:00"]),
]


def _m_per_deg(lat: float) -> tuple[float, float]:
    return 111_320.0 * math.cos(math.radians(lat)), 110_574.0


def square(lon: float, lat: float, half_m: float) -> shapely.Polygon:
    """A square of side 2·half_m around a point."""
    kx, ky = _m_per_deg(lat)
    return shapely.box(lon - half_m / kx, lat - half_m / ky, lon + half_m / kx, lat + half_m / ky)


def circle(lon: float, lat: float, radius_m: float) -> shapely.Polygon:
    """A circle (64-gon) of radius_m around a point."""
    kx, ky = _m_per_deg(lat)
    return shapely.Polygon([(lon + radius_m / kx * math.cos(a), lat + radius_m / ky * math.sin(a))
                            for a in (i * 2 * math.pi / 64 for i in range(64))])


def roads() -> list[tuple[str, float, float, shapely.LineString]]:
    """(name, limit, width, line) of every road."""
    return [(name, limit, width, shapely.LineString([NODES[n] for n in nodes])) for name, limit, width, nodes in ROADS]


def sites() -> list[tuple[str, str, shapely.Polygon]]:
    """(kind, name, polygon) of every site."""
    return [(kind, name, square(lon, lat, half)) for kind, name, lon, lat, half in SITES]


def restricted() -> list[tuple[str, shapely.Polygon, list[str]]]:
    """(name, polygon, hours) of every restricted zone."""
    return [(name, shapely.Polygon(shape) if isinstance(shape, list) else circle(*shape), hours)
            for name, shape, hours in RESTRICTED]


def _metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    kx, ky = _m_per_deg((a[1] + b[1]) / 2)
    return math.hypot((a[0] - b[0]) * kx, (a[1] - b[1]) * ky)


class Router:
    """Shortest paths over the road junctions; an edge crossing a restricted zone costs ten times its length."""

    def __init__(self, avoid: bool = True) -> None:
        zones = shapely.union_all([z for _, z, _ in restricted()]) if avoid else None
        self.edges: dict[str, list[tuple[str, float]]] = {n: [] for n in NODES}
        for _, _, _, nodes in ROADS:
            for a, b in zip(nodes, nodes[1:]):
                cost = _metres(NODES[a], NODES[b])
                if zones is not None and shapely.LineString([NODES[a], NODES[b]]).intersects(zones):
                    cost *= 10
                self.edges[a].append((b, cost))
                self.edges[b].append((a, cost))

    def nearest(self, lon: float, lat: float) -> str:
        return min(NODES, key=lambda n: _metres(NODES[n], (lon, lat)))

    def path(self, start: tuple[float, float], end: tuple[float, float]) -> list[tuple[float, float]]:
        """From a point to a point: to the nearest junction, along the roads, to the end."""
        a, b = self.nearest(*start), self.nearest(*end)
        best, prev, todo = {a: 0.0}, {}, [(0.0, a)]
        while todo:
            cost, node = heapq.heappop(todo)
            if node == b or cost > best.get(node, math.inf):
                continue
            for nxt, w in self.edges[node]:
                if cost + w < best.get(nxt, math.inf):
                    best[nxt], prev[nxt] = cost + w, node
                    heapq.heappush(todo, (cost + w, nxt))
        nodes = [b]
        while nodes[-1] != a:
            nodes.append(prev[nodes[-1]])
        points = [start] + [NODES[n] for n in reversed(nodes)] + [end]
        return [p for i, p in enumerate(points) if i == 0 or _metres(p, points[i - 1]) > 1]
