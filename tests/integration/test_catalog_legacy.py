"""A legacy 2+2 local table through the CLI (kinds kept apart, every component type with its matter), the 11-digit
事项代码 in the catalog API, and case exports (CSV and Excel) carrying it."""

from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from cityloop.catalog.models import Category
from tests.factories import form_login

NAME = "来安旧目录"
# Components and events number themselves in the same 2+2 space (来安: 5大类97小类部件 + 6大类92小类事件).
LEGACY_CSV = ("kind,major_code,major_name,minor_code,minor_name\n"
              "部件,01,公用设施,0101,上水井盖\n"
              "部件,01,公用设施,0102,污水井盖\n"
              "部件,04,园林绿化,0401,古树名木\n"
              "事件,01,市容环境,0101,私搭乱建\n"
              "事件,01,市容环境,0103,积存垃圾渣土\n"
              "事件,04,突发事件,0406,道路积水\n")


@pytest.fixture
def cli_env(monkeypatch, db_url, session_factory):
    from cityloop.config import get_settings

    monkeypatch.setattr("cityloop.cli._session_factory", lambda settings: session_factory)
    get_settings.cache_clear()
    yield {"CITYLOOP_DATABASE_URL": db_url, "CITYLOOP_DEMO": "1"}
    get_settings.cache_clear()


def load(cli_env, tmp_path, text=LEGACY_CSV):
    from cityloop.catalog.cli import app

    path = tmp_path / "laian.csv"
    path.write_text(text, encoding="utf-8")
    return CliRunner().invoke(app, ["load", "--file", str(path), "--name", NAME], env=cli_env)


def test_legacy_table_keeps_kinds_apart(cli_env, session, tmp_path):
    result = load(cli_env, tmp_path)
    assert result.exit_code == 0, result.output
    rows = {(c.kind, c.code): c for c in session.scalars(select(Category).where(Category.standard == NAME))}
    assert sorted(rows) == [("component", "BJ0101"), ("component", "BJ0102"), ("component", "BJ0401"),
                            ("matter", "BJ0101"), ("matter", "BJ0102"), ("matter", "BJ0401"),
                            ("matter", "SJ0101"), ("matter", "SJ0103"), ("matter", "SJ0406")]
    event = rows[("matter", "SJ0101")]
    assert event.name == "私搭乱建" and event.component_code is None  # not linked to 上水井盖, which shares 0101
    assert [c.description for c in event.conditions] == ["私搭乱建，经核实属实"]  # an event's condition, not a cover's
    cover = rows[("matter", "BJ0101")]
    assert cover.name == "上水井盖问题" and cover.component_code == "BJ0101" and len(cover.conditions) == 2
    assert rows[("matter", "SJ0406")].conditions[0].urgent  # 突发事件 cannot wait for work hours
    again = load(cli_env, tmp_path)
    assert again.exit_code == 0 and re.search(r"categories created\s*│\s*0\s*│", again.output)
    assert len(session.scalars(select(Category).where(Category.standard == NAME)).all()) == 9


def test_matter_codes_in_the_api(cli_env, api, login, world, tmp_path):
    assert load(cli_env, tmp_path).exit_code == 0
    h = login("operator1")
    legacy = {c["code"]: c for c in api.get("/api/v1/catalog/categories", params={"standard": NAME, "kind": "matter"},
                                            headers=h).json()}
    assert legacy["BJ0101"]["sxdm"] == "34112201001" and legacy["SJ0103"]["sxdm"] == "34112251003"
    gbt = api.get("/api/v1/catalog/categories/06010", headers=h).json()
    assert gbt["sxdm"] == "34112206010" and len(gbt["sxdm"]) == 11
    component = api.get("/api/v1/catalog/categories/01001", params={"kind": "component"}, headers=h).json()
    assert component["sxdm"] is None  # a component type has an id code (GLBJBSM), not a matter code


@pytest.mark.parametrize("bad", ["事件,01,市容环境,0101,私搭乱建\n", "部件,01,公用设施,0101,重复\n"])
def test_a_duplicate_code_of_one_kind_is_refused(cli_env, session, tmp_path, bad):
    result = load(cli_env, tmp_path, LEGACY_CSV + bad)
    assert result.exit_code == 1 and "第 8 行" in result.output
    assert session.scalars(select(Category).where(Category.standard == NAME)).all() == []


def test_case_exports_carry_the_matter_code(api, login, world):
    lon, lat = world.point("341122100001001")
    r = api.post("/api/v1/cases", json={"category_code": "06010", "lon": lon, "lat": lat, "description": "垃圾"},
                 headers=login("inspector01"))
    assert r.status_code == 201
    number = r.json()["number"]
    assert form_login(api, "dispatcher1").status_code == 303
    exported = api.get("/console/cases/export.csv")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows[0][0] == "案件编号" and rows[0][-1] == "事项代码"
    assert [(row[0], row[-1]) for row in rows[1:]] == [(number, "34112206010")]
    assert api.get("/console/cases/export.csv", params={"category": "09006"}).text.count("\n") == 1  # headers only
