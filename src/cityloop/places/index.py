"""The in-memory geocoder, rebuilt whenever the stored places change: exact, contained and prefix matches on
normalised names, pinyin initials, rapidfuzz for typos and missing characters; door plates and house-number
interpolation for "<road><n>号", road-line crossings for "<road>与<road>交叉口", town/community context; and the
reverse look-up of a pin (STRtrees over door plates, road lines and POIs)."""

from __future__ import annotations

import bisect
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from rapidfuzz import fuzz, process
from shapely import STRtree

from cityloop.places import domain

FUZZY_CUTOFF = 55  # rapidfuzz ratio below which a name is not a candidate
FUZZY_LIMIT = 15
PREFIX_LIMIT = 30
SUBSTRING_SCAN = 40  # longer queries skip the all-substrings scan (O(n²) dictionary look-ups)
PLATE_RADIUS_M = 50
ROAD_RADIUS_M = 300
POI_RADIUS_M = 300
CONTEXT_BONUS, CONTEXT_PENALTY = 5, 20

Geometry = Any  # a shapely geometry (shapely ships no type information)
Fingerprint = tuple[float | str | None, ...]  # see store.fingerprint
Region = tuple[str, str, Geometry | None]  # level, name, polygon


@dataclass
class Entry:
    """One named place the geocoder can answer: a POI, community, town or road (one stretch)."""

    kind: str
    name: str
    lon: float
    lat: float
    aliases: tuple[str, ...] = ()
    address: str | None = None  # how its surroundings are named (town, community)
    gid: int | None = None  # its gazetteer_entries id (usable as Open311 address_id)
    road: int | None = None  # its index in PlaceIndex.roads
    context: set[str] = field(default_factory=set)


@dataclass
class Road:
    """A road stretch: line and house-number ranges (left from/to, right from/to)."""

    name: str
    town: str | None
    line: Geometry
    ranges: tuple[int | None, int | None, int | None, int | None]


@dataclass
class Plate:
    """A door plate."""

    road: str
    number: int
    town: str | None
    lon: float
    lat: float


@dataclass
class Candidate:
    """One geocoding answer."""

    score: int
    kind: str
    name: str
    lon: float
    lat: float
    address: str | None = None
    id: int | None = None
    approximate: bool = False
    context: set[str] = field(default_factory=set, repr=False)


class FuzzyPool:
    """Names for rapidfuzz, with a character index so a query is compared only with names sharing its characters
    (a full scan of 100,000 names per query is too slow); characters in over a tenth of the names don't count."""

    MAX_COMPARED = 4000

    def __init__(self, names: list[str], owners: list[int]) -> None:
        self.names, self.owners = np.asarray(names, dtype=object), owners
        postings: dict[str, list[int]] = defaultdict(list)
        for i, name in enumerate(names):
            for c in set(name):
                postings[c].append(i)
        self.postings = {c: np.asarray(v, dtype=np.int32) for c, v in postings.items()}
        self.common = max(50, len(names) // 10)

    def extract(self, text: str, limit: int, cutoff: int) -> list[tuple[int, float]]:
        """(owner, rapidfuzz ratio) of the names most like text."""
        lists = [p for c in set(text) if (p := self.postings.get(c)) is not None]
        if not lists:
            return []
        rare = [p for p in lists if len(p) <= self.common] or [min(lists, key=len)]
        idx, counts = np.unique(np.concatenate(rare), return_counts=True)
        need = max(1, len(rare) // 2)
        keep = counts >= need
        idx, counts = idx[keep], counts[keep]
        if len(idx) > self.MAX_COMPARED:
            idx = idx[np.argpartition(-counts, self.MAX_COMPARED)[: self.MAX_COMPARED]]
        names = self.names[idx].tolist()
        return [(self.owners[int(idx[k])], ratio)
                for _, ratio, k in process.extract(text, names, scorer=fuzz.ratio, limit=limit, score_cutoff=cutoff)]


def metres(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Distance in metres (equirectangular: exact enough within a county)."""
    k = math.cos(math.radians((lat1 + lat2) / 2))
    return math.hypot((lon2 - lon1) * 111_320 * k, (lat2 - lat1) * 110_574)


def _degrees(m: float, lat: float) -> float:
    return m / (111_320 * max(math.cos(math.radians(lat)), 0.1))


def _midpoint(line: Geometry) -> tuple[float, float]:
    p = shapely.line_interpolate_point(shapely.line_merge(line) if line.geom_type == "MultiLineString" else line,
                                       0.5, normalized=True)
    if p.is_empty:
        p = line.representative_point()
    return round(p.x, 6), round(p.y, 6)


class PlaceIndex:
    """Geocode text and reverse-geocode points over roads, door plates, POIs, communities and towns."""

    def __init__(self, entries: list[Entry], roads: list[Road], plates: list[Plate],
                 regions: Sequence[Region] = (), fingerprint: Fingerprint = ()) -> None:
        self.fingerprint = fingerprint
        self.roads, self.plates = roads, plates
        self.entries = list(entries)
        self.road_entry = len(self.entries)  # road i is entry road_entry + i
        for i, road in enumerate(roads):
            lon, lat = _midpoint(road.line)
            self.entries.append(Entry("road", road.name, lon, lat, address=road.town, road=i))
        self._contexts(regions)
        self._names()
        self._crossings()
        self._plates()
        self._reverse_trees()

    def __len__(self) -> int:
        return len(self.entries) + len(self.plates)

    # ---- building ----

    def _contexts(self, regions: Sequence[Region]) -> None:
        """Which towns/communities each entry lies in (by region polygons, and by its own address text)."""
        self.context_forms: dict[str, str] = {}
        for _level, name, _ in regions:
            for form in domain.short_forms(name):
                self.context_forms.setdefault(form, domain.normalize(name))
        for e in self.entries:
            if e.address:
                e.context.add(domain.normalize(e.address))
        for r in self.roads:
            if r.town:
                for form in domain.short_forms(r.town):
                    self.context_forms.setdefault(form, domain.normalize(r.town))
        shaped = [(domain.normalize(name), geom) for _level, name, geom in regions if geom is not None]
        if shaped and self.entries:
            tree = STRtree([g for _, g in shaped])
            points = shapely.points([e.lon for e in self.entries], [e.lat for e in self.entries])
            entry_idx, region_idx = tree.query(points, predicate="within")
            for i, j in zip(entry_idx.tolist(), region_idx.tolist()):
                self.entries[i].context.add(shaped[j][0])
        self._forms_by_length = sorted(self.context_forms, key=len, reverse=True)

    def _names(self) -> None:
        self.exact: dict[str, list[tuple[int, int]]] = defaultdict(list)  # name → (entry, score)
        self.initials: dict[str, list[int]] = defaultdict(list)
        pairs = []
        for i, e in enumerate(self.entries):
            norm = domain.normalize(e.name)
            self.exact[norm].append((i, 100))
            pairs.append((norm, i))
            for alias in e.aliases:
                a = domain.normalize(alias)
                if a and a != norm:
                    self.exact[a].append((i, 95))
                    pairs.append((a, i))
            ini = domain.initials(e.name)
            if len(ini) >= 2 and ini != norm:
                self.initials[ini].append(i)
        pairs.sort()
        self.sorted_names = [p[0] for p in pairs]
        self.sorted_owner = [p[1] for p in pairs]
        # rapidfuzz choices: all names, road names only, and both per context (town/community) for narrowing.
        self.choices = {"all": FuzzyPool([p[0] for p in pairs], [p[1] for p in pairs])}
        roads = [p for p in pairs if self.entries[p[1]].road is not None]
        self.choices["road"] = FuzzyPool([p[0] for p in roads], [p[1] for p in roads])
        by_ctx: dict[tuple[str, str], tuple[list[str], list[int]]] = defaultdict(lambda: ([], []))
        for name, i in pairs:
            for ctx in self.entries[i].context:
                for pool in ("all", "road") if self.entries[i].road is not None else ("all",):
                    names, owners = by_ctx[(pool, ctx)]
                    names.append(name)
                    owners.append(i)
        self.ctx_choices: dict[tuple[str, str | None], FuzzyPool] = {
            key: FuzzyPool(*lists) for key, lists in by_ctx.items()}
        self.road_groups: dict[tuple[str, str | None], list[int]] = defaultdict(list)
        for i, r in enumerate(self.roads):
            self.road_groups[(domain.normalize(r.name), r.town)].append(i)

    def _crossings(self) -> None:
        """Crossing points of differently named roads, by the pair of names."""
        self.crossings: dict[tuple[str, str], list[tuple[float, float, int, int]]] = defaultdict(list)
        if len(self.roads) < 2:
            return
        lines = np.array([r.line for r in self.roads], dtype=object)
        a, b = STRtree(lines).query(lines, predicate="intersects")
        keep = a < b
        a, b = a[keep], b[keep]
        names = [domain.normalize(r.name) for r in self.roads]
        keep = np.array([names[i] != names[j] for i, j in zip(a.tolist(), b.tolist())], dtype=bool)
        a, b = a[keep], b[keep]
        if not len(a):
            return
        points = shapely.point_on_surface(shapely.intersection(lines[a], lines[b]))
        for i, j, p in zip(a.tolist(), b.tolist(), points):
            if p is None or p.is_empty:
                continue
            first, second = sorted((names[i], names[j]))
            self.crossings[(first, second)].append((round(p.x, 6), round(p.y, 6), i, j))

    def _plates(self) -> None:
        self.plates_by: dict[tuple[str, int], list[int]] = defaultdict(list)
        for i, p in enumerate(self.plates):
            self.plates_by[(domain.normalize(p.road), p.number)].append(i)

    def _reverse_trees(self) -> None:
        self.plate_tree = STRtree(shapely.points([p.lon for p in self.plates], [p.lat for p in self.plates])) \
            if self.plates else None
        self.road_tree = STRtree([r.line for r in self.roads]) if self.roads else None
        self.poi_ids = [i for i, e in enumerate(self.entries) if e.kind == "poi"]
        self.poi_tree = STRtree(shapely.points([self.entries[i].lon for i in self.poi_ids],
                                               [self.entries[i].lat for i in self.poi_ids])) if self.poi_ids else None

    # ---- geocoding ----

    def split_context(self, text: str) -> tuple[str | None, str]:
        """A town or community named in the query (the longest form found), and the query without it."""
        for form in self._forms_by_length:
            if form in text:
                rest = text.replace(form, "", 1)
                return self.context_forms[form], rest
        return None, text

    def match(self, text: str, pool: str = "all", ctx: str | None = None) -> dict[int, int]:
        """Entries whose names answer a text fragment: {entry index: score 0–100}."""
        found: dict[int, int] = {}

        def hit(i: int, score: int) -> None:
            if pool == "road" and self.entries[i].road is None:
                return
            if score > found.get(i, 0):
                found[i] = score

        if not text:
            return found
        for i, s in self.exact.get(text, ()):
            hit(i, s)
        if text.isascii() and text.isalpha() and len(text) >= 2:
            for i in self.initials.get(text, ()):
                hit(i, 90)
        if len(text) <= SUBSTRING_SCAN:
            for a in range(len(text)):
                for b in range(a + 2, len(text) + 1):
                    sub = text[a:b]
                    if sub != text and sub in self.exact:
                        s = domain.name_score(text, sub)
                        for i, alias_score in self.exact[sub]:
                            hit(i, s - (100 - alias_score))
        start = bisect.bisect_left(self.sorted_names, text)
        for k in range(start, min(start + PREFIX_LIMIT, len(self.sorted_names))):
            if not self.sorted_names[k].startswith(text):
                break
            if self.sorted_names[k] == text:
                continue  # an exact name or alias, scored above
            hit(self.sorted_owner[k], domain.name_score(text, self.sorted_names[k]))
        if max(found.values(), default=0) < 90:
            fuzzy = self.ctx_choices.get((pool, ctx)) or self.choices[pool]
            for i, ratio in fuzzy.extract(text, FUZZY_LIMIT, FUZZY_CUTOFF):
                hit(i, domain.fuzzy_score(ratio))
        return found

    def _plate_or_interpolated(self, road_entry: int, number: int) -> tuple[float, float, bool] | None:
        """A door plate's point, else a point interpolated along the road's house-number ranges."""
        road_index = self.entries[road_entry].road
        if road_index is None:  # not a road (match(…, "road") answers roads only)
            return None
        road = self.roads[road_index]
        norm = domain.normalize(road.name)
        plates = [self.plates[i] for i in self.plates_by.get((norm, number), ())]
        if plates:
            best = next((p for p in plates if p.town == road.town or not (p.town and road.town)), None)
            if best:
                return best.lon, best.lat, False
        for ri in self.road_groups.get((norm, road.town), ()):
            r = self.roads[ri]
            for start, end in ((r.ranges[0], r.ranges[1]), (r.ranges[2], r.ranges[3])):
                if start is not None and end is not None and domain.parity_ok(number, start, end):
                    line = shapely.line_merge(r.line) if r.line.geom_type == "MultiLineString" else r.line
                    p = shapely.line_interpolate_point(line, domain.range_fraction(number, start, end),
                                                       normalized=True)
                    return round(p.x, 6), round(p.y, 6), True
        return None

    def geocode(self, query: str, limit: int = 10) -> list[Candidate]:
        """Ranked candidates for what a caller said, best first; scores 0–100."""
        text = domain.normalize(query)
        if not text:
            return []
        ctx, rest = self.split_context(text)
        if not rest or not domain.strip_fillers(rest):
            ctx, rest = None, text  # the query names only a town or community: that is the answer
        parsed = domain.parse(rest)
        out: list[Candidate] = []
        partial = 10 if parsed.number or parsed.explicit_crossing else 0  # a bare road answers only part of it
        for i, s in self.match(parsed.text, "all", ctx).items():
            e = self.entries[i]
            out.append(Candidate(s - partial, e.kind, e.name, e.lon, e.lat, e.address, e.gid, context=e.context))
        if parsed.number and parsed.road:
            roads = sorted(self.match(parsed.road, "road", ctx).items(), key=lambda kv: -kv[1])[:5]
            for i, s in roads:
                point = self._plate_or_interpolated(i, parsed.number)
                if point:
                    name = f"{self.entries[i].name}{parsed.number}号"
                    out.append(Candidate(s - (5 if point[2] else 0), "address", name, point[0], point[1],
                                         self.entries[i].address, approximate=point[2],
                                         context=self.entries[i].context))
        for a, b in parsed.crossings:
            out += self._crossing_candidates(a, b, ctx, 0 if parsed.explicit_crossing else -5)
        if ctx:
            out = [self._in_context(c, ctx) for c in out]
        out.sort(key=lambda c: (-c.score, -domain.KIND_BONUS.get(c.kind, 0), len(c.name)))
        seen: set[tuple[str, str, str | None]] = set()
        ranked: list[Candidate] = []
        for c in out:
            key = (c.kind, c.name, c.address)
            if c.score > 0 and key not in seen:
                seen.add(key)
                c.score = max(0, min(100, c.score))
                ranked.append(c)
            if len(ranked) >= limit:
                break
        return ranked

    def _road_names(self, text: str, ctx: str | None) -> dict[str, int]:
        """The best few road names a fragment may mean: {normalised name: score}."""
        best: dict[str, int] = {}
        for i, score in self.match(text, "road", ctx).items():
            name = domain.normalize(self.entries[i].name)
            best[name] = max(best.get(name, 0), score)
        return dict(sorted(best.items(), key=lambda kv: -kv[1])[:3])

    def _crossing_candidates(self, a: str, b: str, ctx: str | None, adjust: int) -> list[Candidate]:
        """Every crossing of two roads the fragments may name (a pair of names can cross in several towns)."""
        out: list[Candidate] = []
        names_a, names_b = self._road_names(a, ctx), self._road_names(b, ctx)
        for na, sa in names_a.items():
            for nb, sb in names_b.items():
                low, high = sorted((na, nb))
                for x, y, ri, rj in self.crossings.get((low, high), ()):
                    ei, ej = self.entries[self.road_entry + ri], self.entries[self.road_entry + rj]
                    first, second = (ei, ej) if domain.normalize(ei.name) == na else (ej, ei)
                    out.append(Candidate(min(sa, sb) + adjust, "intersection", f"{first.name}与{second.name}交叉口",
                                         x, y, first.address or second.address, context=ei.context | ej.context))
        return out

    @staticmethod
    def _in_context(c: Candidate, ctx: str) -> Candidate:
        """Favour what lies in the town/community the caller named; push back the rest."""
        c.score += CONTEXT_BONUS if ctx in c.context else -CONTEXT_PENALTY
        return c

    # ---- reverse geocoding ----

    def reverse(self, lon: float, lat: float) -> dict[str, Any] | None:
        """The door plate within 50 m, else the nearest road within 300 m (number interpolated), else a POI."""
        if self.plate_tree is None and self.road_tree is None and self.poi_tree is None:
            return None  # nothing imported: not even the point is worth making
        pt = shapely.Point(lon, lat)
        if self.plate_tree is not None:
            hit = self.plate_tree.query_nearest(pt, max_distance=_degrees(PLATE_RADIUS_M, lat))
            if len(hit):
                p = self.plates[int(hit[0])]
                d = metres(lon, lat, p.lon, p.lat)
                if d <= PLATE_RADIUS_M:
                    return dict(name=domain.near_label(p.road, p.number), kind="address", road=p.road,
                                number=p.number, lon=p.lon, lat=p.lat, distance_m=round(d, 1))
        if self.road_tree is not None:
            hit = self.road_tree.query_nearest(pt, max_distance=_degrees(ROAD_RADIUS_M, lat))
            if len(hit):
                r = self.roads[int(hit[0])]
                line = shapely.line_merge(r.line) if r.line.geom_type == "MultiLineString" else r.line
                on = shapely.line_interpolate_point(line, shapely.line_locate_point(line, pt))
                d = metres(lon, lat, on.x, on.y)
                if d <= ROAD_RADIUS_M:
                    number = self._number_near(r, line, pt)
                    return dict(name=domain.near_label(r.name, number), kind="road", road=r.name, number=number,
                                lon=round(on.x, 6), lat=round(on.y, 6), distance_m=round(d, 1))
        if self.poi_tree is not None:
            hit = self.poi_tree.query_nearest(pt, max_distance=_degrees(POI_RADIUS_M, lat))
            if len(hit):
                e = self.entries[self.poi_ids[int(hit[0])]]
                d = metres(lon, lat, e.lon, e.lat)
                if d <= POI_RADIUS_M:
                    return dict(name=domain.near_label(None, None, e.name), kind="poi", road=None, number=None,
                                lon=e.lon, lat=e.lat, distance_m=round(d, 1))
        return None

    @staticmethod
    def _number_near(r: Road, line: Geometry, pt: Geometry) -> int | None:
        """The house number opposite a point: the side of the line it lies on picks the range."""
        left, right = (r.ranges[0], r.ranges[1]), (r.ranges[2], r.ranges[3])
        sides = [(a, b) for a, b in (left, right) if a is not None and b is not None]
        if not sides:
            return None
        fraction = shapely.line_locate_point(line, pt, normalized=True)
        if len(sides) == 2 and line.geom_type == "LineString":
            a = shapely.line_interpolate_point(line, max(0.0, fraction - 0.01), normalized=True)
            b = shapely.line_interpolate_point(line, min(1.0, fraction + 0.01), normalized=True)
            cross = (b.x - a.x) * (pt.y - a.y) - (b.y - a.y) * (pt.x - a.x)
            sides = [sides[0] if cross >= 0 else sides[1]]  # both given: sides is [left, right]
        return domain.number_at(fraction, *sides[0])
