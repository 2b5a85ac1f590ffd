"""The geocoder's pure rules and its in-memory index: parsing spoken forms, scores, interpolation, ranking."""

from __future__ import annotations

import pytest
import shapely

from cityloop.places import domain as d
from cityloop.places.index import Entry, PlaceIndex, Plate, Road

X0, Y0 = 118.430, 32.450  # 永阳路 runs west→east from here; 建设路 south→north crosses it at X0 + 0.01


@pytest.mark.parametrize("text, expected", [
    ("永阳路８８号", "永阳路88号"), ("新安镇 永阳路", "新安镇永阳路"), ("ＹＹＬ", "yyl"), ("永阳路八十八号", "永阳路88号"),
    ("永阳路一百零二号", "永阳路102号"), ("县人民医院，东门！", "县人民医院东门"), ("", "")])
def test_normalize(text, expected):
    assert d.normalize(text) == expected


@pytest.mark.parametrize("text, number", [("八十八", 88), ("十", 10), ("十二", 12), ("一百零二", 102), ("一零八", 108),
                                          ("两千", 2000)])
def test_cn_number(text, number):
    assert d.cn_number(text) == number


@pytest.mark.parametrize("text, road, number, crossings, explicit, core", [
    ("永阳路88号", "永阳路", 88, (), False, "永阳路"),
    ("永阳路88-2号门口", "永阳路", 88, (), False, "永阳路"),
    ("我在永阳路88号", "永阳路", 88, (), False, "永阳路"),
    ("永阳路88", "永阳路", 88, (), False, "永阳路"),
    ("永阳路与建设路交叉口", None, None, (("永阳路", "建设路"),), True, "永阳路与建设路"),
    ("永阳路和建设路路口附近", None, None, (("永阳路", "建设路"),), True, "永阳路和建设路"),
    ("县人民医院东门", None, None, (), False, "县人民医院"),
    ("县人民医院附近", None, None, (), False, "县人民医院"),
    ("东门", None, None, (), False, "东门"),  # never stripped down to nothing
])
def test_parse(text, road, number, crossings, explicit, core):
    p = d.parse(d.normalize(text))
    assert (p.road, p.number, p.explicit_crossing, p.text) == (road, number, explicit, core)
    for pair in crossings:
        assert pair in p.crossings


@pytest.mark.parametrize("name, initials", [("永阳路", "yyl"), ("建设路", "jsl"), ("县人民医院", "xrmyy"), ("G104", "g104")])
def test_initials(name, initials):
    assert d.initials(name) == initials


@pytest.mark.parametrize("query, name, score", [("永阳路", "永阳路", 100), ("永阳", "永阳路", 80), ("永阳路那边", "永阳路", 85),
                                                ("人民医院", "县人民医院", 76), ("火星", "永阳路", 0)])
def test_name_score(query, name, score):
    assert d.name_score(query, name) == score


@pytest.mark.parametrize("number, start, end, ok", [(51, 1, 99, True), (52, 1, 99, False), (100, 2, 100, True),
                                                    (102, 2, 100, False), (5, 9, 1, True)])
def test_parity(number, start, end, ok):
    assert d.parity_ok(number, start, end) is ok


@pytest.mark.parametrize("fraction, start, end, number", [(0.5, 1, 99, 51), (0.0, 2, 100, 2), (1.0, 2, 100, 100),
                                                          (0.26, 1, 99, 27), (0.5, 100, 2, 50)])
def test_number_at(fraction, start, end, number):
    assert d.number_at(fraction, start, end) == number


def test_near_label():
    assert d.near_label("永阳路", 88) == "永阳路 88号附近"
    assert d.near_label("永阳路", None) == "永阳路附近"
    assert d.near_label(None, None, "县人民医院") == "县人民医院附近"


@pytest.fixture(scope="module")
def index() -> PlaceIndex:
    roads = [Road("永阳路", "新安镇", shapely.LineString([(X0, Y0), (X0 + 0.02, Y0)]), (1, 99, 2, 100)),
             Road("建设路", "新安镇", shapely.LineString([(X0 + 0.01, Y0 - 0.01), (X0 + 0.01, Y0 + 0.01)]), (1, 49, 2, 50)),
             Road("永阳路", "半塔镇", shapely.LineString([(118.30, 32.60), (118.32, 32.60)]), (1, 99, 2, 100)),
             Road("人民路", "新安镇", shapely.LineString([(X0, Y0 + 0.005), (X0 + 0.02, Y0 + 0.005)]), (None,) * 4)]
    plates = [Plate("永阳路", 88, "新安镇", X0 + 0.0175, Y0 + 0.0001)]
    entries = [Entry("poi", "县人民医院", X0 + 0.005, Y0 + 0.002, aliases=("县医院",), address="新安镇", gid=1),
               Entry("poi", "人民医院药房", X0 + 0.006, Y0 + 0.002, address="新安镇", gid=2),
               Entry("poi", "新人民广场", X0 + 0.03, Y0 + 0.03, address="新安镇", gid=3),
               Entry("town", "新安镇", X0, Y0, gid=4), Entry("town", "半塔镇", 118.31, 32.6, gid=5),
               Entry("community", "北门社区", X0 + 0.001, Y0 + 0.001, address="新安镇", gid=6)]
    regions = [("street", "新安镇", shapely.box(X0 - 0.05, Y0 - 0.05, X0 + 0.05, Y0 + 0.05)),
               ("street", "半塔镇", shapely.box(118.25, 32.55, 118.35, 32.65)),
               ("community", "北门社区", shapely.box(X0 - 0.05, Y0 - 0.05, X0 + 0.05, Y0 + 0.05))]
    return PlaceIndex(entries, roads, plates, regions)


# What callers say → (kind, name, town) of the best answer.
SPOKEN = [
    ("永阳路88号", "address", "永阳路88号", "新安镇"),
    ("永阳路 88 号", "address", "永阳路88号", "新安镇"),
    ("我在永阳路八十八号门口", "address", "永阳路88号", "新安镇"),
    ("永阳路与建设路交叉口", "intersection", "永阳路与建设路交叉口", "新安镇"),
    ("建设路和永阳路路口", "intersection", "建设路与永阳路交叉口", "新安镇"),
    ("新安镇 永阳路", "road", "永阳路", "新安镇"),
    ("半塔镇永阳路", "road", "永阳路", "半塔镇"),
    ("半塔 永阳路", "road", "永阳路", "半塔镇"),
    ("半塔镇永阳路88号", "address", "永阳路88号", "半塔镇"),  # no door plate there: interpolated
    ("县人民医院东门", "poi", "县人民医院", "新安镇"),
    ("县医院", "poi", "县人民医院", "新安镇"),
    ("县人民医院附近", "poi", "县人民医院", "新安镇"),
    ("县人民医", "poi", "县人民医院", "新安镇"),  # a missing character
    ("县人明医院", "poi", "县人民医院", "新安镇"),  # a typo
    ("永羊路88号", "address", "永阳路88号", "新安镇"),  # a typo in the road
    ("永阳88号", "address", "永阳路88号", "新安镇"),  # a missing character in the road
    ("yyl", "road", "永阳路", "新安镇"),
    ("jsl", "road", "建设路", "新安镇"),
    ("北门社区", "community", "北门社区", "新安镇"),
    ("新安镇", "town", "新安镇", None),
]


@pytest.mark.parametrize("query, kind, name, town", SPOKEN)
def test_spoken_addresses(index, query, kind, name, town):
    best = index.geocode(query)[0]
    assert (best.kind, best.name, best.address) == (kind, name, town)
    assert 0 < best.score <= 100


def test_door_plate_beats_interpolation_and_interpolation_follows_the_range(index):
    plate = index.geocode("永阳路88号")[0]
    assert (plate.lon, plate.lat, plate.approximate) == (X0 + 0.0175, Y0 + 0.0001, False)
    guess = index.geocode("永阳路51号")[0]
    assert guess.kind == "address" and guess.approximate and guess.lon == pytest.approx(X0 + 0.02 * 50 / 98, abs=1e-6)
    assert guess.score < plate.score
    assert index.geocode("人民路5号")[0].kind == "road"  # no ranges, no plate: the road itself


def test_crossing_point_and_scores(index):
    best = index.geocode("永阳路与建设路交叉口")[0]
    assert (best.lon, best.lat, best.score) == (pytest.approx(X0 + 0.01), pytest.approx(Y0), 100)


def test_ranking_and_nothing_for_nonsense(index):
    names = [c.name for c in index.geocode("人民医院", 5)]
    assert names[0] == "县人民医院" or names[0] == "人民医院药房"
    assert set(names[:2]) == {"县人民医院", "人民医院药房"}
    assert index.geocode("火星基地") == []
    assert index.geocode("   ") == []
    assert len(index.geocode("永阳路", 1)) == 1


def test_reverse(index):
    at_plate = index.reverse(X0 + 0.0175, Y0 + 0.0003)
    assert at_plate["name"] == "永阳路 88号附近" and at_plate["kind"] == "address"
    north = index.reverse(X0 + 0.005, Y0 + 0.0004)  # left of the west→east line: odd numbers
    south = index.reverse(X0 + 0.005, Y0 - 0.0004)
    assert north["name"] == "永阳路 25号附近" and south["name"] == "永阳路 26号附近"
    assert index.reverse(X0 + 0.03, Y0 + 0.0305)["name"] == "新人民广场附近"
    assert index.reverse(100.0, 20.0) is None
