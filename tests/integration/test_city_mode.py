"""City mode (两级监督、两级指挥): district centers see and act only on their district's cases; level rules decide
at intake which cases are the city's; 下派, 上报 and 督办 run through the API with events on the timeline."""

from __future__ import annotations

import pytest

from cityloop.city.models import LevelRule
from cityloop.org.models import User, UserRole
from tests.factories import form_login

HOME, OTHER = "341122", "341103"  # the world's district, and another district center with no cases


@pytest.fixture
def city(session, world, clock):
    """District-center staff of both districts, and level rules: 垃圾 (06) is the district's except in 西门社区;
    井盖 (01) is the city's; 占道 (09) has no rule (the city's)."""
    pw = world.users["admin"].password_hash
    for username, role, district in [("qd_op", "operator", HOME), ("qd_lead", "shift_lead", HOME),
                                     ("qd_disp", "dispatcher", HOME), ("wc_disp", "dispatcher", OTHER),
                                     ("wc_lead", "shift_lead", OTHER)]:
        user = User(username=username, display_name=username, password_hash=pw, created_at=clock.now(),
                    district_code=district, roles=[UserRole(role=role)])
        session.add(user)
        world.users[username] = user
    session.add_all([
        LevelRule(category_code="06", area_code=None, level="district", created_at=clock.now()),
        LevelRule(category_code="06", area_code="341122100002", level="city", created_at=clock.now()),
        LevelRule(category_code="01", area_code=HOME, level="city", created_at=clock.now()),
    ])
    session.commit()
    return world


def _report(api, world, login, category="06010", grid="341122100001001", who="inspector01"):
    lon, lat = world.point(grid)
    r = api.post("/api/v1/cases", json={"category_code": category, "lon": lon, "lat": lat, "description": "城市模式"},
                 headers=login(who))
    assert r.status_code == 201, r.text
    return r.json()


def _act(api, headers, case, action, **body):
    return api.post(f"/api/v1/cases/{case['id']}/actions/{action}", json=body, headers=headers)


def test_level_rules_decide_at_intake_by_category_and_area(api, city, login):
    assert _report(api, city, login)["handling_district"] == HOME  # 垃圾: the district's
    assert _report(api, city, login, grid="341122100002001")["handling_district"] is None  # 西门社区: the city's
    assert _report(api, city, login, category="01001")["handling_district"] is None  # 井盖: the city's
    assert _report(api, city, login, category="09006")["handling_district"] is None  # no rule: the city's
    stored = api.get("/api/v1/cases", params={"category": "06010"}, headers=login("dispatcher1")).json()["items"]
    assert sorted(c["handling_district"] or "" for c in stored) == ["", HOME]


def test_a_district_center_sees_and_acts_only_on_its_own_cases(api, city, login):
    mine, theirs = _report(api, city, login), _report(api, city, login, category="09006")
    other = login("wc_disp")
    for url in (f"/api/v1/cases/{mine['id']}", f"/api/v1/cases/{mine['number']}/events",
                f"/api/v1/cases/{theirs['id']}/nodes"):
        assert api.get(url, headers=other).status_code == 404
    assert api.get("/api/v1/cases", headers=other).json()["total"] == 0
    assert _act(api, other, mine, "accept").status_code == 404
    assert api.get("/api/v1/tasks", headers=other).json() == []
    home = login("qd_op")
    assert [c["number"] for c in api.get("/api/v1/cases", headers=home).json()["items"]] == [mine["number"]]
    assert {t["case_number"] for t in api.get("/api/v1/tasks", headers=home).json()} == {mine["number"]}
    assert api.get(f"/api/v1/cases/{theirs['id']}", headers=home).status_code == 404  # the city's case
    assert _act(api, home, theirs, "accept").status_code == 404
    review = lambda who: {c["number"] for c in api.get("/api/v1/channels/review", headers=login(who)).json()}  # noqa: E731
    assert review("qd_op") == {mine["number"]} and review("wc_lead") == set()  # 上报审核: their center's only
    assert review("operator1") == {mine["number"], theirs["number"]}
    r = _act(api, home, mine, "accept")
    assert r.status_code == 200, r.text
    assert "hand_down" not in r.json()["actions"]
    city_staff = login("dispatcher1")
    assert api.get("/api/v1/cases", headers=city_staff).json()["total"] == 2
    assert api.get(f"/api/v1/cases/{mine['id']}", headers=city_staff).status_code == 200
    export = api.get("/console/cases/export", headers=other)
    assert export.status_code == 200 and mine["number"].encode() not in export.content


def test_district_scope_holds_on_the_pages(api, city, login):
    mine = _report(api, city, login)
    assert form_login(api, "wc_disp").status_code == 303
    assert mine["number"] not in api.get("/console/cases").text
    assert api.get(f"/console/cases/{mine['id']}").status_code == 404
    assert form_login(api, "qd_disp").status_code == 303
    listing = api.get("/console/cases").text
    assert mine["number"] in listing and "区县办理 341122" in listing
    assert api.get(f"/console/cases/{mine['id']}").status_code == 200
    assert "区县办理" in api.get(f"/console/cases/{mine['id']}/panel").text


def test_hand_down_then_escalate_through_the_api(api, city, login):
    case = _report(api, city, login, category="09006")  # the city's
    assert _act(api, login("operator1"), case, "accept").status_code == 200
    assert _act(api, login("qd_lead"), case, "hand_down").status_code == 404  # not theirs: not even visible
    r = _act(api, login("lead1"), case, "hand_down")
    assert r.status_code == 200, r.text
    assert r.json()["handling_district"] == HOME and r.json()["stage"] == "accepted"
    assert _act(api, login("lead1"), case, "hand_down").status_code == 409  # already the district's
    assert _act(api, login("lead1"), case, "escalate", note="x").status_code == 403  # the city cannot 上报
    assert _act(api, login("wc_lead"), case, "file").status_code == 404
    lead = login("qd_lead")
    assert _act(api, lead, case, "file").status_code == 200
    assert _act(api, lead, case, "escalate").status_code == 422  # needs a reason
    r = _act(api, lead, case, "escalate", note="涉及跨区县，需市级协调")
    assert r.status_code == 200, r.text
    assert r.json()["handling_district"] is None and r.json()["stage"] == "filed"
    assert api.get(f"/api/v1/cases/{case['id']}", headers=lead).status_code == 404  # back with the city
    events = api.get(f"/api/v1/cases/{case['id']}/events", headers=login("dispatcher1")).json()
    steps = [(e["action"], e["action_name"], e["payload"].get("district_code")) for e in events]
    assert ("hand_down", "下派区县", HOME) in steps and ("escalate", "上报市级协调", HOME) in steps
    assert next(e for e in events if e["action"] == "escalate")["payload"]["note"] == "涉及跨区县，需市级协调"
    assert _act(api, login("dispatcher1"), case, "dispatch", department_code="d01").status_code == 200


def test_hand_down_needs_a_district_center(api, city, login, session):
    case = _report(api, city, login, category="09006")
    for user in session.query(User).filter(User.district_code == HOME):
        user.active = False
    session.commit()
    r = _act(api, login("lead1"), case, "hand_down")
    assert r.status_code == 409 and r.json()["code"] == "no-district-center"


def test_the_city_supervises_a_district_case(api, city, login):
    mine, theirs = _report(api, city, login), _report(api, city, login, category="09006")
    r = _act(api, login("lead1"), mine, "supervise")
    assert r.status_code == 200 and r.json()["supervise_count"] == 1
    assert _act(api, login("qd_lead"), theirs, "supervise").status_code == 404
    assert _act(api, login("qd_lead"), mine, "supervise").status_code == 200


def test_level_rules_api_and_district_centers(api, city, login):
    admin, disp = login("admin"), login("dispatcher1")
    assert len(api.get("/api/v1/city/level-rules", headers=disp).json()) == 3
    assert api.post("/api/v1/city/level-rules", json={"level": "district"}, headers=disp).status_code == 403
    r = api.post("/api/v1/city/level-rules", json={"category_code": "09", "area_code": HOME, "level": "district"},
                 headers=admin)
    assert r.status_code == 201 and r.json()["level_name"] == "区县级"
    assert api.post("/api/v1/city/level-rules", json={"level": "county"}, headers=admin).status_code == 422
    assert api.post("/api/v1/city/level-rules", json={"level": "city", "area_code": "12"},
                    headers=admin).status_code == 422
    assert _report(api, city, login, category="09006")["handling_district"] == HOME
    assert api.delete(f"/api/v1/city/level-rules/{r.json()['id']}", headers=admin).status_code == 204
    assert api.delete(f"/api/v1/city/level-rules/{r.json()['id']}", headers=admin).status_code == 404
    centers = {c["code"]: c for c in api.get("/api/v1/city/districts", headers=disp).json()}
    assert centers[HOME]["name"] == "来安县" and centers[HOME]["staff"] == 3 and centers[HOME]["open_cases"] == 1
    assert centers[OTHER]["open_cases"] == 0


def test_admin_sets_a_users_district_center(api, city, login):
    admin = login("admin")
    uid = city.users["operator1"].id
    r = api.patch(f"/api/v1/users/{uid}", json={"district_code": OTHER}, headers=admin)
    assert r.status_code == 200 and r.json()["district_code"] == OTHER
    assert api.patch(f"/api/v1/users/{uid}", json={"district_code": "12ab"}, headers=admin).status_code == 422
    assert api.get("/api/v1/me", headers=login("operator1")).json()["district_code"] == OTHER
    assert api.get("/api/v1/cases", headers=login("operator1")).json()["total"] == 0


def test_the_big_screen_shows_a_district_center_its_own_cases(api, city, login):
    mine, theirs = _report(api, city, login), _report(api, city, login, category="09006")
    for user, expected in [("qd_lead", {mine["number"]}), ("wc_lead", set()),
                           ("lead1", {mine["number"], theirs["number"]})]:
        headers = login(user)
        assert {m["number"] for m in api.get("/api/v1/screen/markers", headers=headers).json()} == expected
        assert {e["number"] for e in api.get("/api/v1/screen/events", headers=headers).json()} == expected
        figures = api.get("/api/v1/screen/summary", headers=headers).json()["figures"]
        assert figures["reported"] == figures["open"] == len(expected)  # the district center's own counts
