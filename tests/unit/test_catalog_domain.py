"""Catalog rules: table parsing, default filing conditions, component ids, distances, and the shipped tables."""

from pathlib import Path

import pytest

from cityloop.catalog.domain import (
    CATEGORY_COLUMNS, COMPONENT_COLUMNS, CONDITION_COLUMNS, CatalogError, CategorySpec, attach_conditions, bbox,
    complete, component_id_problem, default_conditions, distance_m, legacy_catalog, parse_categories,
    parse_components, read_csv,
)

DATA = Path(__file__).parents[2] / "src" / "cityloop" / "catalog" / "data"
HEADER = "kind,major_code,major_name,minor_code,minor_name,condition_code,condition,limit,urgent,closing_condition\n"


def categories(body: str) -> list[CategorySpec]:
    return parse_categories(read_csv(HEADER + body, CATEGORY_COLUMNS))


@pytest.mark.parametrize("cid, admin, type_code, expected", [
    ("34112201001000001", "341122", "01001", None),
    ("3411220101000001", "341122", "BJ0101", None),
    ("3411220101000001", "341122", "0101", None),
    ("34112201001000123", "341122", "01001", None),
    ("3411220100100000A", "341122", "01001", "数字"),
    ("３４１１２２01001000001", "341122", "01001", "数字"),
    ("", "341122", "01001", "数字"),
    ("3411220100100001", "341122", "01001", "需要 4 位"),
    ("341122010010000001", "341122", "01001", "17 位"),
    ("34112301001000001", "341122", "01001", "行政区划代码 341122"),
    ("34112201002000001", "341122", "01001", "部件类型代码 01001"),
    ("3411220102000001", "341122", "BJ0101", "部件类型代码 0101"),
    ("34112201001000000", "341122", "01001", "000000"),
])
def test_component_id_problem(cid, admin, type_code, expected):
    problem = component_id_problem(cid, admin, type_code)
    if expected is None:
        assert problem is None
    else:
        assert problem is not None and expected in problem and " / " in problem  # zh / en


@pytest.mark.parametrize("body, line, fragment", [
    ("thing,06,市容环境类,06099,某事\n", 2, "未知的类别种类"),
    ("matter,6,市容环境类,06099,某事\n", 2, "大类代码"),
    ("matter,06,市容环境类,6099,某事\n", 2, "小类代码"),
    ("matter,06,市容环境类,07099,某事\n", 2, "以大类代码 06 开头"),
    ("matter,06,市容环境类,06O99,某事\n", 2, "小类代码"),
    ("matter,06,市容环境类,06099,\n", 2, "不能为空"),
    ("matter,06,,06099,某事\n", 2, "不能为空"),
    ("matter,06,市容环境类,06099,某事,01,属实,4x,0,\n", 2, "时限“4x”无效"),
    ("matter,06,市容环境类,06099,某事,01,属实,0h,0,\n", 2, "时限“0h”无效"),
    ("matter,06,市容环境类,06099,某事,01,属实,4h,maybe,\n", 2, "紧急标志"),
    ("matter,06,市容环境类,06099,某事,01,,4h,0,\n", 2, "描述不能为空"),
    ("matter,06,市容环境类,06099,某事,01,属实,4h,0,\nmatter,06,市容环境类,06099,某事,01,又一条,2h,0,\n", 3,
     "立案条件代码 01 重复"),
    ("matter,06,市容环境类,06099,某事\nmatter,06,市容环境类,06099,某事\n", 3, "重复"),
    ("component,06,设施,06099,某设施,01,缺失,4h,1,\n", 2, "部件类型不设立案条件"),
    ("matter,06,市容环境类,06099,某事\nmatter,06,市容环境类,06098,某事,a b,属实,4h,0,\n", 3, "立案条件代码“a b”"),
    ("matter,06,市容环境类,06099,某事,,,,,,extra\n", 2, "字段数多于表头"),
])
def test_bad_category_rows_name_the_line(body, line, fragment):
    with pytest.raises(CatalogError) as err:
        categories(body)
    assert err.value.line == line and fragment in err.value.zh and err.value.en


def test_missing_columns():
    with pytest.raises(CatalogError) as err:
        read_csv("kind,major_code,minor_code\n", CATEGORY_COLUMNS)
    assert err.value.line == 1 and "major_name" in err.value.zh


def test_excel_bom_and_blank_lines():
    rows = read_csv("\ufeff" + HEADER + "\n,,,,\nmatter,06,市容环境类,06099,某事\n", CATEGORY_COLUMNS)
    assert [(line, row["kind"]) for line, row in rows] == [(4, "matter")]


def test_local_rows_with_several_conditions_and_defaults():
    specs = complete(categories(
        "component,01,市政公用设施,01099,智能井盖,,,,,\n"
        "matter,01,市政公用设施类,01099,智能井盖异常,01,井盖缺失,2h,1,井盖已补齐\n"
        "matter,01,市政公用设施类,01099,智能井盖异常,,井盖破损,1d,否,\n"
        "\n"
        "事项,06,市容环境类,06099,某事,,,,,\n"
    ))
    by_key = {(s.kind, s.code): s for s in specs}
    cover = by_key[("matter", "01099")]
    assert cover.component_code == "01099"
    assert [(c.code, c.limit_value, c.limit_unit, c.urgent) for c in cover.conditions] == [
        ("01", 2, "h", True), ("02", 1, "d", False)]
    assert cover.conditions[1].closing_condition  # a default closing text
    other = by_key[("matter", "06099")]
    assert other.component_code is None and len(other.conditions) == 1


@pytest.mark.parametrize("major, component_code, expected", [
    ("06", None, [("4h", False)]),
    ("07", None, [("1d", False)]),
    ("08", None, [("2d", False)]),
    ("09", None, [("2h", False)]),
    ("10", None, [("4h", False)]),
    ("SJ04", None, [("2h", True)]),
    ("99", None, [("1d", False)]),
    ("01", "01024", [("4h", True), ("3d", False)]),
])
def test_default_conditions(major, component_code, expected):
    spec = CategorySpec("matter", major, "类", f"{major}001", "某事", component_code=component_code)
    conds = default_conditions(spec)
    assert [(f"{c.limit_value}{c.limit_unit}", c.urgent) for c in conds] == expected
    assert all(c.description and c.closing_condition for c in conds)
    assert len({c.code for c in conds}) == len(conds)


def test_legacy_codes_are_prefixed():
    components = [CategorySpec("component", "01", "公用设施", "0101", "上水井盖")]
    events = [CategorySpec("matter", "01", "市容环境", "0101", "私搭乱建")]
    specs = complete(legacy_catalog(components, events))
    assert [(s.kind, s.major_code, s.code, s.name, s.component_code) for s in specs] == [
        ("component", "BJ01", "BJ0101", "上水井盖", None),
        ("matter", "BJ01", "BJ0101", "上水井盖问题", "BJ0101"),
        ("matter", "SJ01", "SJ0101", "私搭乱建", None),
    ]
    assert len(specs[1].conditions) == 2 and specs[2].conditions[0].limit_unit == "h"


def test_shipped_gbt_table():
    specs = parse_categories(read_csv((DATA / "gbt47678_5_2026_components_matters.csv").read_text("utf-8"),
                                      CATEGORY_COLUMNS))
    conditions = read_csv((DATA / "conditions_gbt47678.csv").read_text("utf-8"), CONDITION_COLUMNS)
    specs = complete(attach_conditions(conditions, specs))
    matters = {s.code: s for s in specs if s.kind == "matter"}
    assert sum(s.kind == "component" for s in specs) == 153 and len(matters) == 250
    listed = {code for _, row in conditions for code in [row["code"]]}
    must = {"06001", "06010", "06011", "06012", "06014", "06017", "06020", "06027", "06029", "06036", "06042",
            "07001", "07003", "08004", "08011", "09001", "09005", "09006", "09009", "09010", "09012", "10001",
            "10002"} | {c for c, s in matters.items() if "井盖" in s.name or "箅子" in s.name}
    assert must <= listed
    assert all(s.conditions for s in matters.values())
    assert all(s.component_code == s.code for s in matters.values() if s.major_code <= "05")
    assert [(c.code, c.limit_value, c.limit_unit, c.urgent) for c in matters["01001"].conditions] == [
        ("01", 2, "h", True), ("02", 1, "d", False)]
    assert [f"{c.limit_value}{c.limit_unit}" for c in matters["06001"].conditions] == ["4h", "7d", "20d"]


@pytest.mark.parametrize("row, fragment", [
    ("34112201001000001,01001,,118.43,32.45,,,,,,,\n", None),
    ("34112201001000001,01001,,118.43,32.45,,,,,,20260102,\n", None),
    ("34112201001000001,01001,,118.43,32.45,,,,,,2026-01-02,\n", None),
    ("34112201001000001,,,118.43,32.45,,,,,,,\n", "type_code"),
    ("34112201001000001,01002,,118.43,32.45,,,,,,,\n", "部件类型代码 01002"),
    ("34112201001000001,01001,,181,32.45,,,,,,,\n", "lon"),
    ("34112201001000001,01001,,118.43,nan,,,,,,,\n", "lat"),
    ("34112201001000001,01001,,118.43,abc,,,,,,,\n", "lat"),
    ("34112201001000001,01001,,118.43,32.45,,,,,,2026-13-01,\n", "日期"),
    ("34112201001000001,01001,,118.43,32.45,这个状态名称实在是太长了啊,,,,,,\n", "state"),
    ("34112201001000001,01001,,118.43,32.45,,,,,,,\n34112201001000001,01001,,118.4,32.4,,,,,,,\n", "重复"),
])
def test_component_rows(row, fragment):
    text = "id,type_code,name,lon,lat,state,owner,maintainer,competent,grid_code,initial_date,note\n" + row
    rows = read_csv(text, COMPONENT_COLUMNS)
    if fragment is None:
        (spec,) = parse_components(rows, "341122")
        assert spec.id == "34112201001000001" and spec.lon == 118.43
    else:
        with pytest.raises(CatalogError) as err:
            parse_components(rows, "341122")
        assert fragment in err.value.zh


@pytest.mark.parametrize("a, b, metres", [
    ((118.43, 32.45), (118.43, 32.45), 0.0),
    ((118.43, 32.45), (118.43, 32.451), 111.2),
    ((118.43, 32.45), (118.431, 32.45), 93.8),
    ((0.0, 0.0), (1.0, 0.0), 111_195.1),
])
def test_distance(a, b, metres):
    assert distance_m(*a, *b) == pytest.approx(metres, abs=0.5)


def test_bbox_contains_the_circle():
    west, south, east, north = bbox(118.43, 32.45, 500)
    assert distance_m(118.43, 32.45, east, 32.45) == pytest.approx(500, rel=0.01)
    assert distance_m(118.43, 32.45, 118.43, north) == pytest.approx(500, rel=0.01)
    assert west < 118.43 < east and south < 32.45 < north


@pytest.mark.parametrize("urgent_flags, expected", [
    ([False], 0),
    ([True, False], 1),  # 紧急 first in the table: the routine condition is still the default
    ([False, True], 0),
    ([True, True], 0),  # only urgent conditions: the first one
])
def test_default_position_prefers_routine_conditions(urgent_flags, expected):
    from cityloop.catalog.domain import default_position, parse_condition

    conds = [parse_condition(i + 1, f"{i + 1:02d}", "条件", "4h", "1" if u else "0", "结案") for i, u in enumerate(urgent_flags)]
    assert default_position(conds) == expected
