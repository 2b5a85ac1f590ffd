"""沿街抛撒 and 上路抽查 through the API: a spill report is linked to the truck that passed nearest (a violation of
its company, on the company's list), roadside checks become violations when they fail, and the company records."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cityloop.catalog.models import Category, FilingCondition
from tests.factories import STANDARD, form_login
from tests.fleet_world import LAT, drive, lon_at, seed_fleet

TOKEN = {"X-Fleet-Token": "forwarder-secret"}
SPILL_M = 1080  # metres east of the road's west end: inside unit grid 341122100001002 (DG01)


@pytest.fixture
def fleet(session, world, clock, settings):
    settings.fleet_ingest_token = "forwarder-secret"
    f = seed_fleet(session, world, clock.now())
    cat = Category(standard=STANDARD, kind="matter", major_code="06", major_name="市容环境类", code="06014",
                   name="道路遗撒（洒）")
    cat.conditions = [FilingCondition(code="01", description="车辆运输遗撒（洒）污染路面", limit_value=2, limit_unit="h",
                                      urgent=False, is_default=True, position=0, closing_condition="遗撒物已清除")]
    session.add(cat)
    session.commit()
    return f


def positions(api, plate, start, from_m, lateral_m=0.0, seconds=40):
    body = {"positions": drive(plate, start, from_m, 36, seconds, lateral_m=lateral_m)}
    r = api.post("/api/v1/fleet/positions", json=body, headers=TOKEN)
    assert r.status_code == 200, r.text


def spill_report(api, login, user="inspector01", code="06014"):
    r = api.post("/api/v1/cases", json={"category_code": code, "lon": lon_at(SPILL_M), "lat": LAT,
                                        "description": "路面渣土抛撒"}, headers=login(user))
    assert r.status_code == 201, r.text
    return r.json()


def test_a_spill_report_is_linked_to_the_truck_that_passed_nearest(api, login, fleet, clock):
    positions(api, "皖MB0002", clock.now() - timedelta(minutes=20), SPILL_M - 200, lateral_m=25)  # 25 m off
    positions(api, "皖MA0001", clock.now() - timedelta(minutes=10), SPILL_M - 200)               # right over it
    positions(api, "皖MC0003", clock.now() - timedelta(hours=2), SPILL_M - 200)                  # long before
    case = spill_report(api, login)
    staff = login("dispatcher1")
    found = api.get("/api/v1/fleet/violations", params={"kind": "spilling"}, headers=staff).json()["items"]
    assert len(found) == 1
    v = found[0]
    assert v["plate"] == "皖MA0001" and v["case_number"] == case["number"] and v["kind_name"] == "沿街抛撒"
    assert v["company_name"] == "来安县测试渣土运输有限公司"
    again = api.post("/api/v1/muck/spills", json={"case_id": case["id"]}, headers=staff)
    assert again.status_code == 200, again.text
    out = again.json()
    assert [p["plate"] for p in out["passes"]] == ["皖MA0001", "皖MB0002"]  # nearest first, 2 h ago is outside
    assert out["violation_id"] == v["id"] and out["plate"] == "皖MA0001"  # one violation per case
    assert out["passes"][0]["distance_m"] < 5 and 20 < out["passes"][1]["distance_m"] < 30
    mine = api.get("/api/v1/fleet/violations", params={"kind": "spilling"}, headers=login("ztca")).json()["items"]
    assert [m["id"] for m in mine] == [v["id"]]  # on the company's own list, open to appeal
    assert api.get("/api/v1/fleet/violations", params={"kind": "spilling"},
                   headers=login("ztcb")).json()["items"] == []
    records = {r["name"]: r for r in api.get("/api/v1/muck/companies", headers=staff).json()}
    assert records["来安县测试渣土运输有限公司"]["spills"] == 1


def test_no_truck_passed(api, login, fleet, clock):
    case = spill_report(api, login)
    out = api.post("/api/v1/muck/spills", json={"case_id": case["id"]}, headers=login("operator1")).json()
    assert out == {"case_id": case["id"], "passes": [], "violation_id": None, "plate": None}
    positions(api, "皖MA0001", clock.now() + timedelta(minutes=1), SPILL_M - 200)  # seen later by video
    later = api.post("/api/v1/muck/spills", json={"case_id": case["id"], "at": (clock.now() + timedelta(minutes=3))
                                                   .isoformat()}, headers=login("operator1")).json()
    assert later["plate"] == "皖MA0001"


@pytest.mark.parametrize("body, status, code", [
    ({"case_id": 999999}, 404, "case-not-found"),
    ({"case_id": "x"}, 422, None),
    ({"case_id": 1, "at": "yesterday"}, 422, None),
])
def test_bad_spill_requests(api, login, fleet, body, status, code):
    r = api.post("/api/v1/muck/spills", json=body, headers=login("operator1"))
    assert r.status_code == status
    if code:
        assert r.json()["code"] == code


def test_only_spill_cases_are_matched(api, login, fleet, world):
    lon, lat = world.point("341122100001001")
    case = api.post("/api/v1/cases", json={"category_code": "06010", "lon": lon, "lat": lat, "description": "垃圾"},
                    headers=login("inspector01")).json()
    r = api.post("/api/v1/muck/spills", json={"case_id": case["id"]}, headers=login("operator1"))
    assert r.status_code == 422 and r.json()["code"] == "not-a-spill"


def check(api, login, clock, items, plate="皖MA0001", user="cgj"):
    return api.post("/api/v1/muck/spot-checks", headers=login(user), json={
        "plate": plate, "checked_at": (clock.now() - timedelta(minutes=5)).isoformat(), "lon": lon_at(500),
        "lat": LAT, "address": "测试大道与建设路口", "items": items})


def test_roadside_checks(api, login, fleet, clock):
    ok = check(api, login, clock, {"sealed": True, "appearance": True, "overload": True, "papers": True})
    assert ok.status_code == 201, ok.text
    assert ok.json()["result"] == "合格" and ok.json()["violation_id"] is None
    bad = check(api, login, clock, {"sealed": False, "appearance": True, "papers": False}, plate="皖MB0002",
                user="inspector01")
    assert bad.status_code == 201
    b = bad.json()
    assert b["result"] == "不合格" and b["failed"] == ["密闭", "证件"] and b["checker_name"] == "inspector01"
    v = api.get(f"/api/v1/fleet/violations/{b['violation_id']}", headers=login("ztca")).json()
    assert v["kind"] == "spot_check" and v["plate"] == "皖MB0002" and v["case_number"] is None
    staff = login("leader1")
    assert [c["plate"] for c in api.get("/api/v1/muck/spot-checks", headers=staff).json()] == ["皖MB0002", "皖MA0001"]
    assert len(api.get("/api/v1/muck/spot-checks", params={"result": "不合格"}, headers=staff).json()) == 1
    assert api.get("/api/v1/muck/spot-checks", headers=login("ztcb")).json() == []  # another company's trucks
    records = {r["name"]: r for r in api.get("/api/v1/muck/companies", headers=login("ztca")).json()}
    assert list(records) == ["来安县测试渣土运输有限公司"]
    assert (records["来安县测试渣土运输有限公司"]["spot_checks"], records["来安县测试渣土运输有限公司"]["spot_checks_failed"]) \
        == (2, 1)


@pytest.mark.parametrize("items, plate, status, code", [
    ({"colour": False}, "皖MA0001", 422, "unknown-check-item"),
    ({"sealed": True}, "皖X99999", 422, "unknown-plate"),
    ({"sealed": "no"}, "皖MA0001", 422, None),
    ({}, "皖MA0001", 422, None),
])
def test_bad_checks_change_nothing(api, login, fleet, clock, items, plate, status, code):
    r = check(api, login, clock, items, plate=plate)
    assert r.status_code == status
    if code:
        assert r.json()["code"] == code
    assert api.get("/api/v1/muck/spot-checks", headers=login("leader1")).json() == []


def test_a_company_may_not_check(api, login, fleet, clock):
    assert check(api, login, clock, {"sealed": True}, user="ztca").status_code == 403


def test_console_page(api, login, fleet, clock):
    check(api, login, clock, {"sealed": False})
    assert form_login(api, "dispatcher1").status_code == 303
    page = api.get("/console/muck")
    assert page.status_code == 200 and "皖MA0001" in page.text and "密闭" in page.text


def test_demo_checks(api, login, session, settings, fleet, clock):
    from cityloop.muck import demo

    demo.build(session, settings, clock.now())
    demo.build(session, settings, clock.now())  # once only
    checks = api.get("/api/v1/muck/spot-checks", headers=login("leader1")).json()
    assert len(checks) == 3 and all(c["result"] == "合格" for c in checks)
