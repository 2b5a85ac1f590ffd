"""Catalog: loading standards and local tables (idempotent, all-or-nothing), component import, the API, the CLI."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from cityloop.catalog.domain import CJT, GBT
from cityloop.catalog.models import Category, Component, FilingCondition
from cityloop.catalog.service import import_components, load_catalog
from cityloop.shared.errors import Invalid

LOCAL = "本地目录"
LOCAL_CSV = ("kind,major_code,major_name,minor_code,minor_name,condition_code,condition,limit,urgent,"
             "closing_condition\n"
             "component,11,本地设施,11001,智能垃圾箱,,,,,\n"
             "matter,11,本地设施类,11001,智能垃圾箱异常,01,箱体满溢,2h,1,已清运\n"
             "matter,11,本地设施类,11001,智能垃圾箱异常,02,箱体破损,3d,0,已修复\n"
             "matter,12,本地事项类,12001,乱摆共享电单车,,,,,\n")
COMPONENTS_CSV = "id,type_code,name,lon,lat,state,owner,maintainer,competent,grid_code,initial_date,note\n"


def count(session, model, *where) -> int:
    return session.scalar(select(func.count()).select_from(model).where(*where))


def matters(session, standard):
    return session.scalars(select(Category).where(Category.standard == standard, Category.kind == "matter")).all()


def write(tmp_path, text: str, name: str = "local.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_load_gbt(session):
    report = load_catalog(session, GBT)
    assert (report.components, report.matters, report.created) == (153, 250, 403)
    assert count(session, Category, Category.standard == GBT, Category.kind == "component") == 153
    rows = matters(session, GBT)
    assert len(rows) == 250
    for cat in rows:
        assert cat.conditions and sum(c.is_default for c in cat.conditions) == 1, cat.code
        default = next(c for c in cat.conditions if c.is_default)
        assert default == next((c for c in cat.conditions if not c.urgent), cat.conditions[0]) and not cat.is_local
        assert (cat.component_code == cat.code) == (cat.major_code <= "05")
    cover = next(c for c in rows if c.code == "01001")
    assert [(c.code, c.limit_value, c.limit_unit, c.urgent) for c in cover.conditions] == [
        ("01", 2, "h", True), ("02", 1, "d", False)]


def test_load_twice_changes_nothing(session):
    load_catalog(session, GBT)
    before = count(session, FilingCondition)
    again = load_catalog(session, GBT)
    assert (again.created, again.updated, again.deactivated) == (0, 0, 0)
    assert (again.conditions_created, again.conditions_updated, again.conditions_deleted) == (0, 0, 0)
    assert count(session, Category, Category.standard == GBT) == 403 and count(session, FilingCondition) == before


def test_load_over_seeded_rows_updates_them(session, world):
    report = load_catalog(session, GBT)
    assert report.created == 403 - 4 and report.deactivated == 0
    assert count(session, Category, Category.standard == GBT, Category.code == "06010") == 1
    garbage = world.categories["matter:06010"]
    session.refresh(garbage)
    assert garbage.conditions[0].description == "道路、广场等公共区域有暴露垃圾"


def test_load_cjt214(session):
    report = load_catalog(session, CJT)
    assert (report.components, report.matters) == (85, 85 + 54)
    by_code = {(c.kind, c.code): c for c in session.scalars(select(Category).where(Category.standard == CJT))}
    assert by_code[("component", "BJ0101")].name == "上水井盖"
    legacy_cover = by_code[("matter", "BJ0101")]
    assert legacy_cover.name == "上水井盖问题" and legacy_cover.component_code == "BJ0101"
    assert by_code[("matter", "SJ0101")].name == "私搭乱建" and by_code[("matter", "SJ0101")].major_code == "SJ01"
    assert all(len([c for c in m.conditions if c.is_default]) == 1 for m in matters(session, CJT))


def test_local_table_load_edit_and_reload(session, tmp_path):
    path = write(tmp_path, LOCAL_CSV)
    report = load_catalog(session, LOCAL, path)
    assert (report.components, report.matters, report.conditions) == (1, 2, 3)
    bin_matter = session.scalar(select(Category).where(Category.standard == LOCAL, Category.code == "11001",
                                                       Category.kind == "matter"))
    assert bin_matter.is_local and bin_matter.component_code == "11001"
    assert [(c.code, c.urgent, c.is_default) for c in bin_matter.conditions] == [("01", True, False),
                                                                                  ("02", False, True)]
    edited = LOCAL_CSV.replace(",02,箱体破损,3d,0,已修复\n", ",02,箱体破损,5d,0,已修复\n")
    report = load_catalog(session, LOCAL, write(tmp_path, edited))
    assert (report.created, report.updated, report.conditions_updated) == (0, 0, 1)
    session.refresh(bin_matter)
    assert bin_matter.conditions[1].limit_value == 5
    shorter = "\n".join(line for line in edited.splitlines() if "12001" not in line and "箱体破损" not in line)
    report = load_catalog(session, LOCAL, write(tmp_path, shorter + "\n"))
    assert (report.deactivated, report.conditions_deleted) == (1, 1)
    assert not session.scalar(select(Category.active).where(Category.standard == LOCAL, Category.code == "12001"))


@pytest.mark.parametrize("bad_line, fragment", [
    ("matter,12,本地事项类,1200X,坏代码,,,,,", "小类代码"),
    ("thing,12,本地事项类,12002,未知种类,,,,,", "未知的类别种类"),
    ("matter,12,本地事项类,12002,坏时限,01,属实,4x,0,", "时限“4x”无效"),
])
def test_broken_local_table_names_the_line_and_writes_nothing(session, tmp_path, bad_line, fragment):
    path = write(tmp_path, LOCAL_CSV + bad_line + "\n")
    with pytest.raises(Invalid) as err:
        load_catalog(session, LOCAL, path)
    assert err.value.extra["line"] == 6 and "第 6 行" in err.value.zh and fragment in err.value.zh
    assert "line 6" in err.value.en
    assert count(session, Category, Category.standard == LOCAL) == 0


@pytest.mark.parametrize("standard, path, code", [
    ("GB/T 0000-1999", None, "unknown-standard"),
    ("x" * 33, None, "bad-standard-name"),
    (LOCAL, "missing.csv", "file-unreadable"),
])
def test_load_refuses(session, tmp_path, standard, path, code):
    with pytest.raises(Invalid) as err:
        load_catalog(session, standard, tmp_path / path if path else None)
    assert err.value.code == code


def test_import_components(session, world, tmp_path):
    load_catalog(session, GBT)
    good = (COMPONENTS_CSV + "34112201001000001,01001,供水井盖,118.4305,32.4495,完好,d03,d03,d02,341122100001001,"
            "20250301,\n34112201037000001,01037,,118.4315,32.4495,破损,,,,,,路灯\n")
    assert import_components(session, write(tmp_path, good), "341122") == 2
    cover = session.get(Component, "34112201001000001")
    assert cover.owner_department_id == world.departments["d03"].id and cover.grid_code == "341122100001001"
    assert session.get(Component, "34112201037000001").name == "路灯"
    assert import_components(session, write(tmp_path, good), "341122") == 2  # re-import updates in place
    assert count(session, Component) == 2


@pytest.mark.parametrize("row, fragment", [
    ("34112301001000002,01001,,118.43,32.45,,,,,,,", "行政区划代码"),
    ("34112201002000002,01001,,118.43,32.45,,,,,,,", "部件类型代码 01001"),
    ("34112201001000002,01001,,118.43,32.45,,nobody,,,,,", "未知的部门代码 nobody"),
    ("34112201001000002,01001,,118.43,32.45,,,,,999999999999999,,", "未知的单元网格"),
    ("34112206010000002,06010,,118.43,32.45,,,,,,,", "未知的部件类型代码 06010"),
])
def test_import_components_all_or_nothing(session, world, tmp_path, row, fragment):
    text = COMPONENTS_CSV + "34112201001000001,01001,,118.43,32.45,,,,,,,\n" + row + "\n"
    with pytest.raises(Invalid) as err:
        import_components(session, write(tmp_path, text), "341122")
    assert "第 3 行" in err.value.zh and fragment in err.value.zh
    assert count(session, Component) == 0


@pytest.fixture
def loaded(session, world, tmp_path):
    load_catalog(session, GBT)
    rows = (COMPONENTS_CSV + "34112201001000001,01001,,118.4305,32.4495,,d03,,,341122100001001,,\n"
            "34112201001000002,01001,,118.4315,32.4495,,,,,341122100001002,,\n"
            "34112201037000001,01037,,118.4500,32.4000,,,,,,,\n")
    import_components(session, write(tmp_path, rows, "components.csv"), "341122")
    return world


def test_categories_api(api, login, loaded):
    h = login("operator1")
    rows = api.get("/api/v1/catalog/categories", params={"kind": "matter"}, headers=h).json()
    assert len(rows) == 250 and all(r["conditions"] for r in rows)
    assert len(api.get("/api/v1/catalog/categories", headers=h).json()) == 403
    sixes = api.get("/api/v1/catalog/categories", params={"major": "06", "kind": "matter"}, headers=h).json()
    assert len(sixes) == 51 and {r["major_name"] for r in sixes} == {"市容环境类"}
    covers = api.get("/api/v1/catalog/categories", params={"q": "井盖", "kind": "component"}, headers=h).json()
    assert covers and all("井盖" in r["name"] and r["conditions"] == [] for r in covers)
    assert api.get("/api/v1/catalog/categories", params={"q": "%"}, headers=h).json() == []
    one = api.get("/api/v1/catalog/categories/01001", headers=h).json()
    assert one["name"] == "供水井盖异常" and one["component_code"] == "01001"
    assert [(c["code"], c["limit"], c["urgent"], c["is_default"]) for c in one["conditions"]] == [
        ("01", "2h", True, False), ("02", "1d", False, True)]  # 紧急 is never the silent default
    assert one["conditions"][0]["closing_condition"]
    assert api.get("/api/v1/catalog/categories/01001", params={"kind": "component"}, headers=h).json()["name"] == "供水井盖"


@pytest.mark.parametrize("url, params, status", [
    ("/api/v1/catalog/categories/99999", {}, 404),
    ("/api/v1/catalog/categories/06010", {"standard": CJT}, 404),
    ("/api/v1/catalog/categories/06%0010", {}, 422),
    ("/api/v1/catalog/categories", {"kind": "thing"}, 422),
    ("/api/v1/catalog/categories", {"q": "x" * 51}, 422),
    ("/api/v1/catalog/categories", {"q": "a\x00b"}, 422),
    ("/api/v1/catalog/components/34112201001999999", {}, 404),
    ("/api/v1/catalog/components/abc", {}, 422),
    ("/api/v1/catalog/components", {"near_lon": 118.43}, 422),
    ("/api/v1/catalog/components", {"near_lon": 200, "near_lat": 32}, 422),
    ("/api/v1/catalog/components", {"near_lon": "nan", "near_lat": 32}, 422),
    ("/api/v1/catalog/components", {"radius_m": 0, "near_lon": 118.43, "near_lat": 32.45}, 422),
])
def test_api_problems(api, login, loaded, url, params, status):
    r = api.get(url, params=params, headers=login("operator1"))
    assert r.status_code == status and r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["status"] == status and r.json()["detail"]


def test_api_needs_login(api, loaded):
    for url in ("/api/v1/catalog/categories", "/api/v1/catalog/categories/01001", "/api/v1/catalog/components"):
        r = api.get(url)
        assert r.status_code == 401 and r.json()["code"] == "not-authenticated"


def test_components_api(api, login, loaded):
    h = login("inspector01")
    page = api.get("/api/v1/catalog/components", params={"size": 2}, headers=h).json()
    assert page["total"] == 3 and len(page["items"]) == 2 and page["items"][0]["id"] == "34112201001000001"
    in_grid = api.get("/api/v1/catalog/components", params={"grid": "341122100001001"}, headers=h).json()
    assert [c["id"] for c in in_grid["items"]] == ["34112201001000001"]
    assert in_grid["items"][0]["owner_department"] == "d03" and in_grid["items"][0]["type_name"] == "供水井盖"
    lamps = api.get("/api/v1/catalog/components", params={"type": "01037"}, headers=h).json()
    assert [c["id"] for c in lamps["items"]] == ["34112201037000001"]
    near = api.get("/api/v1/catalog/components", params={"near_lon": 118.4316, "near_lat": 32.4495,
                                                         "radius_m": 150}, headers=h).json()
    assert [c["id"] for c in near["items"]] == ["34112201001000002", "34112201001000001"]
    assert near["total"] == 2 and near["items"][0]["distance_m"] < near["items"][1]["distance_m"] <= 150
    one = api.get("/api/v1/catalog/components/34112201001000001", headers=h).json()
    assert one["grid_code"] == "341122100001001" and one["state"] == "完好" and one["distance_m"] is None


@pytest.fixture
def cli_env(monkeypatch, db_url, session_factory):
    """The catalog CLI against the test transaction (its commits stay inside the rolled-back test)."""
    from cityloop.config import get_settings

    monkeypatch.setattr("cityloop.cli._session_factory", lambda settings: session_factory)
    get_settings.cache_clear()
    yield {"CITYLOOP_DATABASE_URL": db_url, "CITYLOOP_DEMO": "1"}
    get_settings.cache_clear()


def test_cli_load_and_import(cli_env, session, world, tmp_path):
    from cityloop.catalog.cli import app

    runner = CliRunner()
    result = runner.invoke(app, ["load", "--file", str(write(tmp_path, LOCAL_CSV)), "--name", LOCAL], env=cli_env)
    assert result.exit_code == 0, result.output
    assert "本地目录" in result.output and "CITYLOOP_CATALOG_STANDARD" in result.output
    assert count(session, Category, Category.standard == LOCAL) == 3
    result = runner.invoke(app, ["load"], env=cli_env)
    assert result.exit_code == 0 and count(session, Category, Category.standard == GBT) == 403
    rows = COMPONENTS_CSV + "34112201001000001,01001,,118.43,32.45,,,,,,,\n"
    result = runner.invoke(app, ["components", "import", str(write(tmp_path, rows, "c.csv"))], env=cli_env)
    assert result.exit_code == 0, result.output
    assert session.get(Component, "34112201001000001") is not None


def test_cli_errors_without_traceback(cli_env, session, tmp_path):
    from cityloop.catalog.cli import app

    result = CliRunner().invoke(app, ["load", "--file", str(write(tmp_path, LOCAL_CSV + "thing,1,x,1,y\n"))],
                                env=cli_env)
    assert result.exit_code == 1 and "第 6 行" in result.output and "line 6" in result.output
    assert isinstance(result.exception, SystemExit)
    assert count(session, Category, Category.standard == "local") == 0


def test_cli_asks_for_db_upgrade(monkeypatch, tmp_path):
    from cityloop.catalog.cli import app
    from cityloop.config import get_settings

    get_settings.cache_clear()
    env = {"CITYLOOP_DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}", "CITYLOOP_DEMO": "1"}
    result = CliRunner().invoke(app, ["load"], env=env)
    get_settings.cache_clear()
    assert result.exit_code == 1 and "cityloop db upgrade" in result.output


def test_reload_keeps_conditions_that_cases_use(api, login, world, session):
    garbage = world.categories["matter:06010"]
    garbage.conditions.append(FilingCondition(code="99", description="旧条件", limit_value=1, limit_unit="d",
                                              position=1))
    session.commit()
    lon, lat = world.point("341122100001001")

    def filed(code: str, condition: str) -> dict:
        body = {"category_code": code, "lon": lon, "lat": lat, "description": "测试"}
        case = api.post("/api/v1/cases", json=body, headers=login("inspector01")).json()
        assert api.post(f"/api/v1/cases/{case['id']}/actions/accept", headers=login("operator1")).status_code == 200
        r = api.post(f"/api/v1/cases/{case['id']}/actions/file", json={"condition_code": condition},
                     headers=login("lead1"))
        assert r.status_code == 200, r.text
        return r.json()

    filed("06010", "99")
    report = load_catalog(session, GBT)
    session.refresh(garbage)
    assert [(c.code, c.is_default) for c in garbage.conditions] == [("01", True), ("99", False)]
    assert report.conditions_deleted == 0
    assert filed("06001", "03")["condition_code"] == "03"  # a loaded matter can be filed under any condition
