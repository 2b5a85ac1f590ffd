"""案件查询: each filter, combined filters, paging, the Excel export (names under Chinese headers) and saved
searches (per user)."""

from __future__ import annotations

from datetime import timedelta
from io import BytesIO

import pytest
from openpyxl import load_workbook

from cityloop.cases.models import Case


@pytest.fixture
def cases(api, world, login, session, clock):
    """Three cases: A (垃圾, hotline, 建设路, dispatched to d01, overdue), B (占道, public, 人民路, 3 days old),
    C (垃圾, inspector, no address)."""
    ops = login("operator1")
    lon, lat = world.point("341122100001001")
    made = {}
    for key, cat, source, address, desc in [
        ("A", "06010", "hotline", "建设路12号", "垃圾堆积如山 A"), ("B", "09006", "public", "人民路3号", "门前占道经营 B"),
        ("C", "06010", "inspector", None, "绿化带垃圾 C")]:
        body = {"category_code": cat, "lon": lon, "lat": lat, "description": desc, "source": source,
                "address": address, "reporter_name": "张三" if key == "A" else None}
        who = login("inspector01") if source == "inspector" else ops
        r = api.post("/api/v1/cases", json={k: v for k, v in body.items() if v is not None}, headers=who)
        assert r.status_code == 201, r.text
        made[key] = r.json()
    a, b = session.get(Case, made["A"]["id"]), session.get(Case, made["B"]["id"])
    a.department_id = world.departments["d01"].id
    a.node_due_at = clock.now() - timedelta(hours=1)
    b.node_due_at = clock.now() + timedelta(days=2)
    b.created_at = clock.now() - timedelta(days=3)
    session.commit()
    return made


def _numbers(api, headers, **params) -> set[str]:
    r = api.get("/api/v1/cases", params=params, headers=headers)
    assert r.status_code == 200, r.text
    return {c["number"] for c in r.json()["items"]}


def test_each_filter_and_combinations(api, login, cases, clock):
    h = login("dispatcher1")
    A, B, C = (cases[k]["number"] for k in "ABC")
    assert _numbers(api, h) == {A, B, C}
    assert _numbers(api, h, number=A) == {A}
    assert _numbers(api, h, number=A[:-3]) >= {A}  # a prefix finds it
    assert _numbers(api, h, number="%") == set()  # LIKE wildcards are literal
    assert _numbers(api, h, address="建设路") == {A}
    assert _numbers(api, h, q="垃圾") == {A, C}
    assert _numbers(api, h, q="占道") == {B}
    assert _numbers(api, h, category="06010") == {A, C}
    assert _numbers(api, h, department="d01") == {A}
    assert _numbers(api, h, source="public") == {B}
    assert _numbers(api, h, stage=cases["A"]["stage"]) >= {A}
    assert _numbers(api, h, overdue="true") == {A}
    day = (clock.now() - timedelta(days=1)).isoformat()
    assert _numbers(api, h, created_to=day) == {B}
    assert _numbers(api, h, created_from=day) == {A, C}
    assert _numbers(api, h, q="垃圾", source="inspector") == {C}
    assert _numbers(api, h, category="06010", department="d01", overdue="true") == {A}
    assert _numbers(api, h, q="垃圾", address="人民路") == set()


def test_keywords_read_the_index(api, login, cases, session):
    """Keywords go through an index (FTS5 trigrams on SQLite from 3 characters, character pairs on PostgreSQL from
    2); the result is the same as the plain substring match, kept up to date when a description changes."""
    h = login("dispatcher1")
    A, B, C = (cases[k]["number"] for k in "ABC")
    assert _numbers(api, h, q="垃圾堆积") == {A}
    assert _numbers(api, h, q="带垃圾") == {C}
    assert _numbers(api, h, q="占道经营 b") == {B}  # ASCII case folded as before
    assert _numbers(api, h, q='"垃圾"') == set()  # quotes are literal, not FTS syntax
    assert _numbers(api, h, q="垃圾 OR 占道") == set()
    assert _numbers(api, h, q="%%%") == set()
    c = session.get(Case, cases["C"]["id"])
    c.description = "井盖缺失 C"
    session.commit()
    assert _numbers(api, h, q="带垃圾") == set()
    assert _numbers(api, h, q="井盖缺") == {C}
    assert _numbers(api, h, q="井盖") == {C}  # two characters: every pair of them, then the exact match
    assert _numbers(api, h, q="缺失 c") == {C} and _numbers(api, h, q=" c") == {C}  # ASCII case folded
    assert _numbers(api, h, q="盖井") == set() and _numbers(api, h, q="井") == {C}


def test_total_is_a_lower_bound_past_the_count_cap(api, login, cases, monkeypatch):
    from cityloop.cases import queries

    monkeypatch.setattr(queries, "COUNT_CAP", 1)
    h = login("dispatcher1")
    body = api.get("/api/v1/cases", params={"size": 1}, headers=h).json()
    assert body["total"] == 1 and body["total_is_estimate"] is True and len(body["items"]) == 1
    body = api.get("/api/v1/cases", params={"size": 2}, headers=h).json()  # counted to the end of the page asked
    assert body["total"] == 2 and body["total_is_estimate"] is True
    body = api.get("/api/v1/cases", params={"size": 2, "page": 2}, headers=h).json()  # the last page: exact
    assert body["total"] == 3 and body["total_is_estimate"] is False and len(body["items"]) == 1
    body = api.get("/api/v1/cases", params={"size": 1, "q": "占道"}, headers=h).json()
    assert body["total"] == 1 and body["total_is_estimate"] is False
    from cityloop.cases import pages

    monkeypatch.setattr(pages, "PAGE_SIZE", 1)
    page = api.get("/console/cases", headers=h)
    assert page.status_code == 200 and '<span class="muted small">1+</span>' in page.text
    assert "1 / 1+" in page.text and "page=2" in page.text  # the next page stays reachable


def test_paging(api, login, cases):
    h = login("dispatcher1")
    seen = []
    for page in (1, 2, 3):
        body = api.get("/api/v1/cases", params={"page": page, "size": 1}, headers=h).json()
        assert body["total"] == 3 and len(body["items"]) == 1
        seen.append(body["items"][0]["number"])
    assert len(set(seen)) == 3


def test_console_page_filters_by_local_dates(api, login, cases):
    h = login("dispatcher1")
    page = api.get("/console/cases", params={"q": "垃圾", "source": "hotline"}, headers=h)
    assert page.status_code == 200
    assert cases["A"]["number"] in page.text and cases["C"]["number"] not in page.text
    assert "热线" in page.text and "导出 Excel" in page.text and "全部来源" in page.text
    bad = api.get("/console/cases", params={"date_from": "2026-13-40"}, headers=h)
    assert bad.status_code == 422 and "日期格式" in bad.text


def test_excel_export_has_chinese_headers_and_names(api, login, cases, clock):
    h = login("dispatcher1")
    r = api.get("/console/cases/export", params={"category": "06010"}, headers=h)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
    assert "attachment" in r.headers["content-disposition"]
    ws = load_workbook(BytesIO(r.content)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:5] == ("案件编号", "问题类别", "阶段", "来源", "处置部门")
    body = {row[0]: row for row in rows[1:]}
    assert set(body) == {cases["A"]["number"], cases["C"]["number"]}
    a = body[cases["A"]["number"]]
    assert a[1] == "暴露垃圾" and a[3] == "热线" and a[4] == "县城管执法局" and a[7] == "张三" and a[10] == "是"
    assert a[2] and a[2] != cases["A"]["stage"]  # the stage's name, not its code
    assert len(a[8]) == 16 and a[8][4] == "-" and a[8][13] == ":"  # 2026-12-03 13:25
    assert rows[0][-1] == "事项代码" and a[-1] == "34112206010"  # GB/T 47678.5 Table 3: district + type code
    flat = " ".join(str(v) for row in rows for v in row[:-1] if v)
    assert "06010" not in flat and "hotline" not in flat and "d01" not in flat


def test_export_is_limited_to_what_the_user_sees(api, login, cases):
    r = api.get("/console/cases/export", headers=login("d02"))
    rows = list(load_workbook(BytesIO(r.content)).active.iter_rows(values_only=True))
    assert rows == [rows[0]]  # headers only: nothing is dispatched to d02


def test_saved_filters_crud_and_isolation(api, login, cases):
    ops, disp = login("operator1"), login("dispatcher1")
    r = api.post("/api/v1/saved-filters", json={"name": "超时垃圾", "query": "?category=06010&overdue=true&page=3"},
                 headers=ops)
    assert r.status_code == 201 and r.json()["query"] == "category=06010&overdue=true"
    fid = r.json()["id"]
    again = api.post("/api/v1/saved-filters", json={"name": "超时垃圾", "query": "category=09006"}, headers=ops)
    assert again.json()["id"] == fid  # same name: overwritten
    assert [f["name"] for f in api.get("/api/v1/saved-filters", headers=ops).json()] == ["超时垃圾"]
    assert api.get("/api/v1/saved-filters", headers=disp).json() == []
    page = api.get("/console/cases", headers=ops)
    assert "超时垃圾" in page.text and "category=09006" in page.text
    assert "超时垃圾" not in api.get("/console/cases", headers=disp).text
    assert api.delete(f"/api/v1/saved-filters/{fid}", headers=disp).status_code == 404  # not theirs
    bad = api.post("/api/v1/saved-filters", json={"name": "x", "query": "evil=1"}, headers=ops)
    assert bad.status_code == 422 and bad.json()["code"] == "bad-filter-query"
    assert api.post("/api/v1/saved-filters", json={"name": " ", "query": ""}, headers=ops).status_code == 422
    assert api.delete(f"/api/v1/saved-filters/{fid}", headers=ops).status_code == 204
    assert api.get("/api/v1/saved-filters", headers=ops).json() == []


def test_a_list_shows_each_case_with_its_own_names(api, login, cases, session, world):
    """The page's names are read in one query for all its cases: each still gets its own (as in its detail)."""
    b = session.get(Case, cases["B"]["id"])
    b.suggested_department_id = world.departments["d01"].id
    b.merged_into_id = cases["C"]["id"]
    session.commit()
    h = login("dispatcher1")
    r = api.get("/api/v1/cases", headers=h)
    assert r.status_code == 200, r.text
    labels = ("category_name", "condition_code", "department_code", "department_name", "suggested_department_code",
              "suggested_department_name", "merged_into")
    listed = {c["number"]: {k: c[k] for k in labels} for c in r.json()["items"]}
    assert listed[cases["A"]["number"]]["department_code"] == "d01"
    assert listed[cases["B"]["number"]]["suggested_department_code"] == "d01"
    assert listed[cases["B"]["number"]]["merged_into"] == cases["C"]["number"]
    assert listed[cases["A"]["number"]]["category_name"] != listed[cases["B"]["number"]]["category_name"]
    for key in "ABC":
        detail = api.get(f"/api/v1/cases/{cases[key]['id']}", headers=h).json()
        assert listed[cases[key]["number"]] == {k: detail[k] for k in labels}
