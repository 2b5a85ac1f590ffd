"""Assessment over HTTP: cases run through the loop at set times, then the rankings, every figure's drill-down,
who may see what, publishing (frozen, with drift detection) and the report files."""

from __future__ import annotations

import io
import shutil
import subprocess
from datetime import datetime, timedelta

import pytest
from openpyxl import load_workbook
from PIL import Image

from tests.conftest import SHANGHAI
from tests.factories import form_login

MON_9 = datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)


@pytest.fixture
def settings(settings, tmp_path):
    """The reference 考核办法 without its minimum volume: these worlds hold a handful of cases, yet rank them (the
    minimum has its own test below)."""
    from cityloop.assessment.method import preset_path

    method = tmp_path / "method.toml"
    method.write_text(preset_path("reference").read_text(encoding="utf-8").replace("min_volume = 5", "min_volume = 0"),
                      encoding="utf-8")
    settings.assessment_method_file = str(method)
    return settings


@pytest.fixture
def loop(api, login, world, clock):
    """Helpers to report and act as named users at the clock's time."""

    class Loop:
        def report(self, user="inspector01", grid="341122100001001", code="06010", **extra):
            lon, lat = world.point(grid)
            r = api.post("/api/v1/cases", json={"category_code": code, "lon": lon, "lat": lat,
                                                "description": "路边有暴露垃圾", **extra}, headers=login(user))
            assert r.status_code == 201, r.text
            return r.json()

        def act(self, case, action, user, **body):
            r = api.post(f"/api/v1/cases/{case['id']}/actions/{action}", json=body or None, headers=login(user))
            assert r.status_code == 200, r.text
            return r.json()

        def dispatched(self, department="d01"):
            case = self.report()
            for action, user in [("accept", "operator1"), ("file", "lead1")]:
                case = self.act(case, action, user)
            return self.act(case, "dispatch", "dispatcher1", department_code=department)

        def finish(self, case, department="d01"):
            case = self.act(case, "handle", department, result="已处理")
            case = self.act(case, "check_ok", "inspector01")
            return self.act(case, "close", "lead1")

    return Loop()


@pytest.fixture
def make_month(loop, clock):
    """Four cases for d01 in the week of `monday` 09:00 (see the first test for what each one is)."""

    def make(monday: datetime) -> dict:
        clock.set(monday)
        a = loop.finish(loop.dispatched())  # handled within 4 working hours
        clock.set(monday.replace(hour=10))
        b = loop.dispatched()  # due Monday 16:00
        c = loop.dispatched("d02")
        c = loop.act(c, "request_return", "d02", note="不属于本单位")
        c = loop.act(c, "approve", "dispatcher1")
        c = loop.act(c, "dispatch", "dispatcher1", department_code="d01")  # wrong dispatch; due Monday 16:00
        clock.set(monday + timedelta(days=1))
        b = loop.act(b, "handle", "d01", result="已处理")  # late
        b = loop.act(b, "check_fail", "inspector01", note="仍有垃圾")  # rework
        b = loop.finish(b)
        d = loop.dispatched()  # due Tuesday 15:00: not yet due at 09:00
        return {"a": a, "b": b, "c": c, "d": d}

    return make


@pytest.fixture
def month(make_month):
    return make_month(MON_9)


def test_department_figures_rates_score_and_drill_down(api, login, world, month):
    r = api.get("/api/v1/assessment/department?period=2026-11", headers=login("leader1"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["source"] == "live" and body["period"] == "2026-11" and body["cases"] == 4
    rows = {row["object_id"]: row for row in body["rows"]}
    d01, d02 = rows[world.departments["d01"].id], rows[world.departments["d02"].id]
    expected = {"handle_due": 3, "handled": 2, "handled_on_time": 1, "handled_overtime": 1, "overdue_open": 1,
                "overtime_multiple": 1, "reworked": 1, "reworks": 1, "close_due": 3, "closed": 2, "closed_on_time": 1,
                "closed_overtime": 1, "returns": 0}
    assert {k: d01["counters"][k] for k in expected} == expected
    assert d01["rates"]["handle_on_time_rate"] == pytest.approx(1 / 3, abs=1e-4)
    assert d01["rates"]["close_rate"] == pytest.approx(2 / 3, abs=1e-4)
    assert d01["rates"]["satisfaction_rate"] is None
    # 立案数分值 100 ×10 + 结案率 66.67 ×30 + 按期处置率 33.33 ×30 + (100 − 返工率 33.33) ×30
    assert d01["score"] == pytest.approx(60.0, abs=0.01) and d01["grade"] == "C" and d01["rank"] == 1
    assert d01["group"] == "class1" and d01["name"] == "县城管执法局"
    assert d02["counters"]["returns"] == 1 and d02["score"] is None and d02["rank"] is None
    for figure, cases in [("handle_due", "abc"), ("overdue_open", "c"), ("reworks", "b"), ("closed_on_time", "a"),
                          ("handled_overtime", "b")]:
        drill = api.get(f"/api/v1/assessment/department/{d01['object_id']}/cases",
                        params={"period": "2026-11", "figure": figure}, headers=login("leader1")).json()
        assert drill["value"] == d01["counters"][figure] == drill["total"]
        assert sorted(i["number"] for i in drill["items"]) == sorted(month[k]["number"] for k in cases)
    returned = api.get(f"/api/v1/assessment/department/{d02['object_id']}/cases",
                       params={"period": "2026-11", "figure": "returns"}, headers=login("leader1")).json()
    assert [i["number"] for i in returned["items"]] == [month["c"]["number"]]


def test_people_and_region_kinds(api, login, world, month):
    get = lambda kind: {r["name"]: r for r in api.get(f"/api/v1/assessment/{kind}?period=2026-11",  # noqa: E731
                                                      headers=login("lead1")).json()["rows"]}
    dispatcher = get("dispatcher")["dispatcher1"]["counters"]
    assert {k: dispatcher[k] for k in ("dispatch_due", "dispatched", "dispatched_on_time", "wrong_dispatch",
                                       "accurate_dispatched")} == \
        {"dispatch_due": 4, "dispatched": 4, "dispatched_on_time": 4, "wrong_dispatch": 1, "accurate_dispatched": 2}
    inspector = get("inspector")["inspector01"]["counters"]
    assert inspector["reported"] == 4 and inspector["valid_reported"] == 4 and inspector["check_due"] == 3
    lead = get("shift_lead")["lead1"]
    assert lead["counters"]["filed"] == 4 and lead["counters"]["lead_closed"] == 2
    assert lead["rates"]["accurate_file_rate"] == 1.0
    street = get("street")["新安镇"]
    assert street["object_id"] == "341122100" and street["counters"]["handle_due"] == 3
    assert street["group"] == "class1" and street["score"] is not None
    grids = api.get("/api/v1/assessment/grid?period=2026-11", headers=login("lead1")).json()["rows"]
    assert [g["object_id"] for g in grids] == ["341122100001001"] and grids[0]["counters"]["reported"] == 4
    drill = api.get("/api/v1/assessment/street/341122100/cases", params={"period": "2026-11", "figure": "reported"},
                    headers=login("lead1")).json()
    assert drill["total"] == 4


def test_who_sees_what(api, login, world, month):
    d01 = world.departments["d01"].id
    own = api.get("/api/v1/assessment/department?period=2026-11", headers=login("d01")).json()["rows"]
    assert [r["object_id"] for r in own] == [d01]
    assert api.get(f"/api/v1/assessment/department/{d01}/cases?period=2026-11&figure=handled",
                   headers=login("d01")).status_code == 200
    other = world.departments["d02"].id
    assert api.get(f"/api/v1/assessment/department/{other}/cases?period=2026-11&figure=returns",
                   headers=login("d01")).status_code == 404
    assert api.get("/api/v1/assessment/street?period=2026-11", headers=login("d01")).status_code == 403
    mine = api.get("/api/v1/assessment/inspector?period=2026-11", headers=login("inspector01")).json()["rows"]
    assert [r["name"] for r in mine] == ["inspector01"]
    assert api.get("/api/v1/assessment/department", headers=login("inspector01")).status_code == 403
    assert api.get("/api/v1/assessment/analysis", headers=login("d01")).status_code == 403
    assert api.get("/api/v1/assessment/department?period=2026-11").status_code == 401


@pytest.mark.parametrize("path, status", [
    ("/api/v1/assessment/planets?period=2026-11", 404),
    ("/api/v1/assessment/department?period=2026-13", 422),
    ("/api/v1/assessment/department?period=soon", 422),
    ("/api/v1/assessment/department/1/cases?period=2026-11&figure=nonsense", 422),
    ("/api/v1/assessment/department/abc/cases?period=2026-11&figure=handled", 404),
    ("/api/v1/assessment/street/34112/cases?period=2026-11&figure=reported", 404),
    ("/api/v1/assessment/reports/monthly/2026-11.doc", 404),
])
def test_bad_input_is_a_problem_not_a_crash(api, login, world, path, status):
    r = api.get(path, headers=login("leader1"))
    assert r.status_code == status and r.headers["content-type"].startswith("application/problem+json")


def test_publish_freezes_a_finished_period(api, login, world, make_month, clock, loop):
    month = make_month(datetime(2026, 10, 26, 9, 0, tzinfo=SHANGHAI))  # tokens cannot be issued in the future
    assert api.post("/api/v1/assessment/periods/2026-10/publish", headers=login("leader1")).status_code == 409
    clock.set(datetime(2026, 11, 2, 9, 0, tzinfo=SHANGHAI))
    assert api.post("/api/v1/assessment/periods/2026-10/publish", headers=login("dispatcher1")).status_code == 403
    r = api.post("/api/v1/assessment/periods/2026-10/publish", json={"note": "10月通报"}, headers=login("leader1"))
    assert r.status_code == 201, r.text
    assert r.json()["cases"] == 4 and len(r.json()["checksum"]) == 64
    assert api.post("/api/v1/assessment/periods/2026-10/publish", headers=login("leader1")).status_code == 409
    frozen = api.get("/api/v1/assessment/department?period=2026-10", headers=login("leader1")).json()
    assert frozen["source"] == "published"
    d01 = next(r for r in frozen["rows"] if r["object_id"] == world.departments["d01"].id)
    assert d01["counters"]["handle_due"] == 4 and d01["counters"]["overdue_open"] == 2  # d is overdue by now
    status = api.get("/api/v1/assessment/periods/2026-10", headers=login("leader1")).json()
    assert status["published"] and not status["drifted"] and status["checksum"] == r.json()["checksum"]
    loop.finish(month["c"])  # history goes on after publication …
    again = api.get("/api/v1/assessment/department?period=2026-10", headers=login("leader1")).json()
    assert again["rows"] == frozen["rows"]  # … the published figures stay as they were …
    assert api.get("/api/v1/assessment/periods/2026-10", headers=login("leader1")).json()["drifted"]  # … and say so
    november = api.get("/api/v1/assessment/department?period=2026-11", headers=login("leader1")).json()
    assert november["source"] == "live"
    assert [p["period"] for p in api.get("/api/v1/assessment/periods", headers=login("leader1")).json()] == ["2026-10"]
    ranked = api.get("/api/v1/assessment/department?period=2026-11", headers=login("leader1")).json()["rows"]
    assert next(r for r in ranked if r["name"] == "县城管执法局")["previous_rank"] == 1  # from the frozen October


def test_analysis(api, login, world, month):
    body = api.get("/api/v1/assessment/analysis?period=2026-11", headers=login("leader1")).json()
    assert body["cases"] == 4 and body["top_categories"][0]["category_code"] == "06010"
    assert body["hot_spots"][0] == {"grid_code": "341122100001001", "grid_name": "北门社区 001",
                                    "category_code": "06010", "category_name": "暴露垃圾", "cases": 4}
    assert body["sources"] == [{"source": "inspector", "name": "监督员上报", "cases": 4, "share": 1.0}]
    assert body["overdue_departments"][0]["name"] == "县城管执法局"
    assert [t["period"] for t in body["trend"]][-2:] == ["2026-10", "2026-11"] and body["trend"][-1]["reported"] == 4


def test_a_unit_under_the_minimum_volume_is_scored_but_not_ranked(api, login, world, month, settings):
    """最低考核量: with the shipped reference method (5 due cases), a department with 3 gets its score, no rank."""
    from cityloop.assessment.method import preset_path

    settings.assessment_method_file = str(preset_path("reference"))
    rows = api.get("/api/v1/assessment/department?period=2026-11", headers=login("leader1")).json()["rows"]
    d01 = next(r for r in rows if r["name"] == "县城管执法局")
    assert d01["counters"]["handle_due"] == 3 and d01["score"] == pytest.approx(60.0, abs=0.01)
    assert d01["too_few"] is True and d01["rank"] is None
    page = api.get("/console/assessment?period=2026-11", headers=login("leader1"))
    assert "样本不足" in page.text


def test_monthly_report_files(api, login, world, month, tmp_path):
    r = api.get("/api/v1/assessment/reports/monthly/2026-11.xlsx", headers=login("leader1"))
    assert r.status_code == 200 and "spreadsheetml" in r.headers["content-type"]
    book = load_workbook(io.BytesIO(r.content))
    assert book.sheetnames == ["概况", "一级部门（县直部门）", "二级单位（乡镇街道）", "街道乡镇"]
    sheet = book["一级部门（县直部门）"]
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    d01 = next(v for v in values if v[1] == "县城管执法局")
    assert d01[0] == 1 and d01[2] == pytest.approx(60.0, abs=0.01) and d01[3] == "C" and d01[4] == 3
    assert not any(isinstance(v, str) and v.startswith("=") for row in values for v in row)  # values, no formulas
    assert sheet._charts and book["概况"]._charts
    r = api.get("/api/v1/assessment/reports/monthly/2026-11.pdf", headers=login("leader1"))
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    assert_pdf_pages_not_blank(r.content, tmp_path)


def test_monthly_bulletin_as_word(api, login, world, month):
    """The 通报 as .docx: a title, the totals, one ranking table per peer group and a score chart for each."""
    from docx import Document
    from PIL import Image

    r = api.get("/api/v1/assessment/reports/monthly/2026-11.docx", headers=login("leader1"))
    assert r.status_code == 200 and "wordprocessingml" in r.headers["content-type"]
    assert 'filename="assessment-2026-11.docx"' in r.headers["content-disposition"]
    doc = Document(io.BytesIO(r.content))
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "关于2026年11月数字城管综合评价情况的通报" in text and "共受理上报问题 4 件" in text
    assert "一、总体情况" in text and "一级部门（县直部门）综合评价排名" in text
    rankings = [t for t in doc.tables if t.rows[0].cells[1].text == "单位"]
    d01 = next(row for t in rankings for row in t.rows if row.cells[1].text == "县城管执法局")
    assert [c.text for c in d01.cells[:4]] == ["1", "县城管执法局", "60.0", "C"]
    charts = [rel.target_part.blob for rel in doc.part.rels.values() if "image" in rel.reltype]
    assert 1 <= len(charts) <= len(rankings)  # a chart under each ranking that has scores
    chart = Image.open(io.BytesIO(charts[0]))
    assert chart.width > 1000 and len(chart.getcolors(1 << 16)) > 2  # bars and labels, not a blank picture
    assert api.get("/api/v1/assessment/reports/monthly/2026-11.doc", headers=login("leader1")).status_code == 404


def assert_pdf_pages_not_blank(pdf: bytes, folder) -> int:
    """Render every page with pdftoppm and check each has real ink; returns the page count."""
    assert shutil.which("pdftoppm"), "pdftoppm is missing: apt-get install poppler-utils"
    (folder / "report.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(folder / "report.pdf"), str(folder / "page")], check=True)
    pages = sorted(folder.glob("page*.png"))
    assert pages
    for page in pages:
        gray = Image.open(page).convert("L")
        dark = sum(gray.histogram()[:128])
        assert dark > 200, f"{page.name} looks blank"
    return len(pages)


def test_pages_answer_by_role(api, world, month):
    public = api.get("/public/rankings")
    assert public.status_code == 200 and "实时计算，尚未正式发布" in public.text and "县城管执法局" in public.text
    assert api.get("/public/rankings?period=2026-10").status_code == 404  # only published periods by name
    form_login(api, "inspector01")
    page = api.get("/console/assessment?period=2026-11")
    assert page.status_code == 200 and "inspector01" in page.text and "按期核查率" in page.text
    assert "figure=check_due" in page.text  # his figures link to their cases
    denied = api.get("/console/assessment?period=2026-11&kind=department")
    assert denied.status_code == 403 and "监督员只能查看本人" in denied.text
    drill = api.get(f"/console/assessment/inspector/{world.users['inspector01'].id}/cases?period=2026-11"
                    "&figure=reported")
    assert drill.status_code == 200 and month["a"]["number"] in drill.text
    bare = api.get(f"/console/assessment/inspector/{world.users['inspector01'].id}/cases?period=2026-11",
                   follow_redirects=False)  # no figure named: back to the overview, not a 422
    assert bare.status_code == 303 and bare.headers["location"] == "/console/assessment?kind=inspector&period=2026-11"
