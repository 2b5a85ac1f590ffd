"""专项普查 through the API: create (bad input refused), reports tagged by rule and by hand, inspector tasks and
checks, the progress report, its Excel export and the console pages."""

from __future__ import annotations

from datetime import timedelta
from io import BytesIO

import pytest
from openpyxl import load_workbook

from tests.factories import form_login


@pytest.fixture
def campaign(api, login, world, clock):
    body = {"name": "城市亮化专项普查", "theme": "lighting", "categories": ["06010", "01001"],
            "starts_at": (clock.now() - timedelta(hours=1)).isoformat(),
            "ends_at": (clock.now() + timedelta(days=7)).isoformat(),
            "grids": ["DG01", "DG02"], "inspectors": ["inspector01"], "checklist": ["路灯亮灯率", "景观灯完好"]}
    r = api.post("/api/v1/campaigns", json=body, headers=login("leader1"))
    assert r.status_code == 201, r.text
    return r.json()


def report(api, login, world, grid, code="06010", user="inspector01"):
    lon, lat = world.point(grid)
    r = api.post("/api/v1/cases", json={"category_code": code, "lon": lon, "lat": lat, "description": "普查发现"},
                 headers=login(user))
    assert r.status_code == 201, r.text
    return r.json()["id"]


def test_create_and_read(api, login, campaign):
    assert campaign["status"] == "running" and campaign["theme_name"] == "城市亮化"
    assert campaign["grids"] == ["DG01", "DG02"] and campaign["inspectors"] == ["inspector01"]
    assert [i["text"] for i in campaign["checklist"]] == ["路灯亮灯率", "景观灯完好"]
    listed = api.get("/api/v1/campaigns", headers=login("operator1")).json()
    assert [c["id"] for c in listed] == [campaign["id"]]
    assert api.get(f"/api/v1/campaigns/{campaign['id']}", headers=login("inspector02")).json()["name"] == "城市亮化专项普查"
    assert api.get("/api/v1/campaigns/999", headers=login("leader1")).status_code == 404
    assert api.get("/api/v1/campaigns", headers=login("d01")).status_code == 403


@pytest.mark.parametrize("change, status, code", [
    ({"categories": ["99999"]}, 422, "unknown-category"),
    ({"categories": ["06010'--"]}, 422, "unknown-category"),
    ({"grids": ["DG99"]}, 422, "unknown-grid"),
    ({"inspectors": ["operator1"]}, 422, "unknown-inspector"),
    ({"inspectors": ["nobody"]}, 422, "unknown-inspector"),
    ({"checklist": ["a", "a"]}, 422, "bad-checklist"),
    ({"checklist": ["  "]}, 422, "bad-checklist"),
    ({"ends_at": "2026-11-01T00:00:00+08:00"}, 422, "bad-campaign-window"),
    ({"theme": "parking"}, 422, None),
    ({"categories": []}, 422, None),
    ({"extra": 1}, 422, None),
])
def test_bad_input_is_refused_and_changes_nothing(api, login, world, change, status, code):
    body = {"name": "x", "theme": "greening", "categories": ["06010"], "starts_at": "2026-11-20T00:00:00+08:00",
            "ends_at": "2026-11-30T00:00:00+08:00", "grids": ["DG01"], **change}
    r = api.post("/api/v1/campaigns", json=body, headers=login("admin"))
    assert r.status_code == status, r.text
    if code:
        assert r.json()["code"] == code
    assert api.get("/api/v1/campaigns", headers=login("admin")).json() == []


def test_only_managers_create(api, login, world):
    body = {"name": "x", "theme": "greening", "categories": ["06010"], "starts_at": "2026-11-20T00:00:00+08:00",
            "ends_at": "2026-11-30T00:00:00+08:00", "grids": ["DG01"]}
    assert api.post("/api/v1/campaigns", json=body, headers=login("inspector01")).status_code == 403


def test_reports_are_tagged_by_rule_and_by_hand(api, login, world, campaign):
    cid = campaign["id"]
    in_grid = report(api, login, world, "341122100001001")                       # 06010 in DG01: claimed
    other_matter = report(api, login, world, "341122100001002", code="09006")   # not a campaign matter
    in_dg02 = report(api, login, world, "341122100002001", "01001", "inspector02")
    assert api.get(f"/api/v1/campaigns/{cid}/cases", headers=login("leader1")).json() == sorted([in_grid, in_dg02])
    r = api.post(f"/api/v1/campaigns/{cid}/cases", json={"case_id": other_matter}, headers=login("operator1"))
    assert r.status_code == 200 and r.json()["overall"]["cases_found"] == 3
    again = api.post(f"/api/v1/campaigns/{cid}/cases", json={"case_id": other_matter}, headers=login("operator1"))
    assert again.json()["overall"]["cases_found"] == 3
    assert api.post(f"/api/v1/campaigns/{cid}/cases", json={"case_id": 99999},
                    headers=login("operator1")).status_code == 422


def test_a_case_after_the_window_is_not_tagged(api, login, world, campaign, clock):
    clock.advance(days=8)
    report(api, login, world, "341122100001001")
    assert api.get(f"/api/v1/campaigns/{campaign['id']}/cases", headers=login("leader1")).json() == []


def test_tasks_checks_and_progress(api, login, world, campaign):
    cid, items = campaign["id"], campaign["checklist"]
    tasks = api.get("/api/v1/campaigns/tasks", headers=login("inspector01")).json()
    assert len(tasks) == 1 and tasks[0]["grids"] == ["DG01"]  # the campaign's grids this inspector patrols
    assert [t["text"] for t in tasks[0]["todo"]] == ["路灯亮灯率", "景观灯完好"]
    assert api.get("/api/v1/campaigns/tasks", headers=login("inspector02")).json() == []  # not assigned
    ok = api.post(f"/api/v1/campaigns/{cid}/checks", json={"item_id": items[0]["id"], "grid": "DG01", "note": "亮灯率 98%"},
                  headers=login("inspector01"))
    assert ok.status_code == 200, ok.text
    assert api.post(f"/api/v1/campaigns/{cid}/checks", json={"item_id": items[0]["id"], "grid": "DG02"},
                    headers=login("inspector02")).status_code == 403
    for body, code in [({"item_id": 99999, "grid": "DG01"}, "unknown-item"),
                       ({"item_id": items[0]["id"], "grid": "DG99"}, "grid-not-assigned")]:
        r = api.post(f"/api/v1/campaigns/{cid}/checks", json=body, headers=login("inspector01"))
        assert r.status_code == 422 and r.json()["code"] == code
    report(api, login, world, "341122100001003")
    p = api.get(f"/api/v1/campaigns/{cid}/progress", headers=login("dispatcher1")).json()
    assert [(g["grid"], g["items_done"], g["items_total"], g["cases_found"], g["cases_closed"]) for g in p["grids"]] \
        == [("DG01", 1, 2, 1, 0), ("DG02", 0, 2, 0, 0)]
    assert (p["overall"]["items_done"], p["overall"]["items_total"], p["overall"]["done_ratio"]) == (1, 4, 0.25)
    left = api.get("/api/v1/campaigns/tasks", headers=login("inspector01")).json()[0]["todo"]
    assert [t["text"] for t in left] == ["景观灯完好"]
    x = api.get(f"/api/v1/campaigns/{cid}/progress.xlsx", headers=login("leader1"))
    assert x.status_code == 200 and "spreadsheetml" in x.headers["content-type"]
    rows = list(load_workbook(BytesIO(x.content)).active.iter_rows(values_only=True))
    assert rows[0][:2] == ("专项普查", "城市亮化专项普查")
    assert ("DG01", 1, 2, "50%", 1, 0) in rows and ("合计", 1, 4, "25%", 1, 0) in rows


def test_console_pages(api, world, campaign):
    assert form_login(api, "inspector01").status_code == 303
    page = api.get("/console/campaigns")
    assert page.status_code == 200 and "城市亮化专项普查" in page.text and "我的普查任务" in page.text
    detail = api.get(f"/console/campaigns/{campaign['id']}")
    assert detail.status_code == 200 and "路灯亮灯率" in detail.text and "DG02" in detail.text
    assert api.get("/console/campaigns/424242").status_code == 404


def test_demo_campaigns(api, login, session, settings, world, clock):
    from cityloop.campaigns import demo

    report(api, login, world, "341122100001001", code="06010")
    demo.build(session, settings, clock.now())
    demo.build(session, settings, clock.now())  # once only
    listed = api.get("/api/v1/campaigns", headers=login("leader1")).json()
    assert sorted(c["status"] for c in listed) == ["ended", "running", "running"]
    for c in listed:
        p = api.get(f"/api/v1/campaigns/{c['id']}/progress", headers=login("leader1")).json()
        assert p["grids"] and p["overall"]["items_total"] == len(c["checklist"]) * len(c["grids"])
        assert 0 < p["overall"]["items_done"] < p["overall"]["items_total"]
