"""The annual result over HTTP (JSON and Excel) and the 考核办法 file through the settings and the CLI."""

from __future__ import annotations

import io
from datetime import datetime

import pytest
from openpyxl import load_workbook

from tests.conftest import SHANGHAI
from tests.integration.test_assessment_api import loop, make_month  # noqa: F401 (fixtures)


@pytest.fixture
def two_months(make_month):  # noqa: F811
    make_month(datetime(2026, 10, 26, 9, 0, tzinfo=SHANGHAI))
    return make_month(datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI))


def test_annual_result_json_and_excel(api, login, world, two_months):
    month = api.get("/api/v1/assessment/department?period=2026-11", headers=login("leader1")).json()
    nov = next(r for r in month["rows"] if r["name"] == "县城管执法局")["score"]
    r = api.get("/api/v1/assessment/annual?year=2026&unit_type=department", headers=login("leader1"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["method"] == "reference" and body["unit_type"] == "department"
    d01 = next(u for u in body["units"] if u["name"] == "县城管执法局")
    assert len(d01["months"]) == 12 and d01["months"][10] == nov and d01["months"][11] is None
    scored = [s for s in d01["months"] if s is not None]
    assert d01["score"] == pytest.approx(sum(scored) / len(scored), abs=0.01)
    assert d01["grade"] in "ABCDE"
    assert ("通报表扬" in d01["rewards"]) == (d01["grade"] == "A")

    x = api.get("/api/v1/assessment/reports/annual/2026.xlsx?unit_type=department", headers=login("leader1"))
    assert x.status_code == 200 and "spreadsheetml" in x.headers["content-type"]
    sheet = load_workbook(io.BytesIO(x.content)).active
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[1][:4] == ["序号", "单位", "分组", "1月"] and rows[1][-4:] == ["年度得分", "等级", "末位月数", "考核奖惩"]
    line = next(v for v in rows if v[1] == "县城管执法局")
    assert line[3 + 10] == nov and line[15] == d01["score"] and line[16] == d01["grade"]


def test_annual_rewards_follow_the_method_file(api, login, world, two_months, settings, tmp_path):
    f = tmp_path / "county.toml"
    f.write_text('name = "county"\ngrades = [["优秀", 50], ["合格", 0]]\n'
                 '[[rewards]]\ngrade = "优秀"\naction = "评为文明单位"\n', "utf-8")
    settings.assessment_method_file = str(f)
    body = api.get("/api/v1/assessment/annual?year=2026", headers=login("leader1")).json()
    d01 = next(u for u in body["units"] if u["name"] == "县城管执法局")
    assert body["method"] == "county" and d01["grade"] == "优秀" and d01["rewards"] == ["评为文明单位"]


@pytest.mark.parametrize("url, status", [
    ("/api/v1/assessment/annual?year=1999", 422),
    ("/api/v1/assessment/annual?year=2026&unit_type=nobody", 404),
    ("/api/v1/assessment/reports/annual/abcd.xlsx", 422),
])
def test_annual_bad_input(api, login, world, url, status):
    r = api.get(url, headers=login("leader1"))
    assert r.status_code == status and r.headers["content-type"].startswith("application/problem+json")


def test_annual_is_citywide_only(api, login, world):
    assert api.get("/api/v1/assessment/annual?year=2026", headers=login("d01")).status_code == 403
