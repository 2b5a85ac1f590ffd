"""The one vocabulary: every code a page may show has a zh-CN and an English name, readings read as words and
units, and an unknown code is never shown as itself."""

from __future__ import annotations

import json

from cityloop.cases.domain import NODES, SOURCES, STAGES
from cityloop.config import Settings
from cityloop.fleet.domain import KINDS
from cityloop.org.domain import ROLES
from cityloop.sensors.domain import METRICS
from cityloop.web import vocab


def test_every_code_has_both_names():
    for kind, codes in [("stage", STAGES), ("node", NODES), ("source", SOURCES), ("role", ROLES),
                        ("metric", METRICS), ("violation", {*KINDS, *Settings(database_url="sqlite://", demo=True).fleet_matters})]:
        for code in codes:
            zh, en = vocab.label(kind, code), vocab.label(kind, code, "en")
            assert zh and en and zh != "其他" and en != "other", (kind, code)
    for words in vocab.VOCAB.values():
        assert all(len(names) == 2 and all(names) for names in words.values())


def test_readings_are_words_with_units():
    assert vocab.reading("temp_c", 9.5) == "温度 9.5 ℃"
    assert vocab.reading("temp_c", 9.5, "en") == "temperature 9.5 ℃"
    assert vocab.readings({"depth_cm": 12.34, "battery_pct": 87, "open": True}) == "水深 12.3 cm · 电量 87 % · 井盖开启 是"
    assert vocab.readings(None) == ""


def test_an_unknown_code_is_never_shown_as_itself():
    assert vocab.label("stage", "teleported") == "其他" and vocab.label("stage", "teleported", "en") == "other"
    assert vocab.label("stage", None) == "" and vocab.label("stage", "") == ""


def test_scripts_get_the_same_table():
    table = json.loads(vocab.vocab_json("zh"))
    assert table["stage"]["verifying"] == "核实中" and table["violation"]["off_route"] == "偏离核准路线"
    assert table["unit"]["temp_c"] == "℃"
    assert json.loads(vocab.vocab_json("en"))["role"]["shift_lead"] == "Shift lead"
