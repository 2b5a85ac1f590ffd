"""Legacy 2+2 tables keep components and events apart; every component type has its matter; the 11-digit 事项代码
(table-driven)."""

from __future__ import annotations

import pytest

from cityloop.catalog.domain import CategorySpec, complete, is_legacy, local_catalog, matter_code, type_code5


def spec(kind, code, name):
    return CategorySpec(kind, code[:2], "大类", code, name)


@pytest.mark.parametrize("codes, legacy", [
    (["0101", "0102"], True), (["01001", "06010"], False), (["0101", "01001"], False), ([], False),
])
def test_is_legacy(codes, legacy):
    assert is_legacy([spec("component", c, "x") for c in codes]) is legacy


def test_a_legacy_table_keeps_kinds_apart():
    specs = complete(local_catalog([spec("component", "0101", "上水井盖"), spec("matter", "0101", "私搭乱建"),
                                    spec("component", "0102", "污水井盖")]))
    by = {(s.kind, s.code): s for s in specs}
    assert set(by) == {("component", "BJ0101"), ("matter", "BJ0101"), ("component", "BJ0102"), ("matter", "BJ0102"),
                       ("matter", "SJ0101")}
    event = by[("matter", "SJ0101")]
    assert event.name == "私搭乱建" and event.component_code is None  # not the cover that shares its number
    assert [c.description for c in event.conditions] == ["私搭乱建，经核实属实"]  # an event's condition
    cover = by[("matter", "BJ0101")]
    assert cover.name == "上水井盖问题" and cover.component_code == "BJ0101" and len(cover.conditions) == 2


def test_every_component_type_gets_a_matter_in_a_gbt_shaped_table():
    specs = complete(local_catalog([spec("component", "01001", "供水井盖"), spec("component", "04001", "古树名木"),
                                    spec("matter", "01001", "供水井盖异常"), spec("matter", "06010", "暴露垃圾")]))
    matters = {s.code: s for s in specs if s.kind == "matter"}
    assert set(matters) == {"01001", "04001", "06010"}
    assert matters["04001"].name == "古树名木异常" and matters["04001"].component_code == "04001"
    assert matters["01001"].name == "供水井盖异常"  # the table's own matter is kept


@pytest.mark.parametrize("code, five, sxdm", [
    ("06014", "06014", "34112206014"),
    ("01004", "01004", "34112201004"),
    ("BJ0104", "01004", "34112201004"),   # legacy component 2+2 widened to 2+3
    ("SJ0103", "51003", "34112251003"),   # legacy events: major + 50, outside GB/T's 01–10
    ("SJ0612", "56012", "34112256012"),
    ("123456", None, None), ("XY0101", None, None), ("0101", None, None),
])
def test_matter_code(code, five, sxdm):
    assert type_code5(code) == five
    assert matter_code("341122", code) == sxdm


@pytest.mark.parametrize("admin", ["", "34112", "abcdef"])
def test_no_matter_code_without_an_admin_code(admin):
    assert matter_code(admin, "06014") is None


def test_the_admin_code_is_its_first_six_digits():
    assert matter_code("341122100", "06014") == "34112206014"  # a street code still names its district
