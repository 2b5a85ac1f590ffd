"""Administration over HTTP: users and roles, routing rules, calendar overrides, filing-condition limits."""

from __future__ import annotations


def test_users_are_managed_by_admins_only(api, login, world):
    admin = login("admin")
    assert api.get("/api/v1/users", headers=login("lead1")).status_code == 403
    body = {"username": "operator9", "display_name": "受理员九", "password": "long-enough-pw", "roles": ["operator"]}
    created = api.post("/api/v1/users", json=body, headers=admin)
    assert created.status_code == 201 and created.json()["roles"] == ["operator"]
    assert api.post("/api/v1/users", json=body, headers=admin).status_code == 409  # the name is taken
    token = api.post("/api/v1/auth/token", data={"username": "operator9", "password": "long-enough-pw"}).json()
    assert "access_token" in token
    uid = created.json()["id"]
    r = api.patch(f"/api/v1/users/{uid}", json={"roles": ["department"]}, headers=admin)
    assert r.status_code == 422 and r.json()["code"] == "department-required"
    r = api.patch(f"/api/v1/users/{uid}", json={"roles": ["department"], "department_code": "d02"}, headers=admin)
    assert r.json()["roles"] == ["department"] and r.json()["department_code"] == "d02"
    assert api.patch(f"/api/v1/users/{uid}", json={"active": False}, headers=admin).json()["active"] is False
    assert api.post("/api/v1/auth/token", data={"username": "operator9", "password": "long-enough-pw"}).status_code == 401
    me = world.users["admin"].id
    assert api.patch(f"/api/v1/users/{me}", json={"active": False}, headers=admin).status_code == 422
    assert api.patch("/api/v1/users/99999999999", json={}, headers=admin).status_code == 422
    assert api.patch("/api/v1/users/999999", json={}, headers=admin).status_code == 404
    listed = api.get("/api/v1/users?role=inspector", headers=admin).json()
    assert [u["username"] for u in listed] == ["inspector01", "inspector02"]


def test_a_locked_account_is_unlocked_by_an_admin(api, login, world, settings):
    for _ in range(settings.login_max_failures):
        api.post("/api/v1/auth/token", data={"username": "lead1", "password": "nope"})
    uid = world.users["lead1"].id
    assert api.get("/api/v1/users?q=lead1", headers=login("admin")).json()[0]["locked"] is True
    assert api.patch(f"/api/v1/users/{uid}", json={"unlock": True}, headers=login("admin")).json()["locked"] is False
    assert api.post("/api/v1/auth/token", data={"username": "lead1", "password": "demo"}).status_code == 200


def test_routing_rules_can_be_retired(api, login, world):
    h = login("dispatcher1")
    rules = api.get("/api/v1/routing/rules", headers=h).json()
    assert api.delete(f"/api/v1/routing/rules/{rules[0]['id']}", headers=login("operator1")).status_code == 403
    assert api.delete(f"/api/v1/routing/rules/{rules[0]['id']}", headers=h).status_code == 204
    assert len(api.get("/api/v1/routing/rules", headers=h).json()) == len(rules) - 1
    assert api.delete(f"/api/v1/routing/rules/{rules[0]['id']}", headers=h).status_code == 404


def test_calendar_overrides_list_and_remove(api, login):
    h = login("admin")
    api.put("/api/v1/sla/calendar/2026-12-31", json={"day": "2026-12-31", "is_workday": False, "note": "跨年"}, headers=h)
    assert api.get("/api/v1/sla/calendar?year=2026", headers=login("lead1")).json() == [
        {"day": "2026-12-31", "is_workday": False, "note": "跨年"}]
    assert api.delete("/api/v1/sla/calendar/2026-12-31", headers=h).status_code == 204
    assert api.delete("/api/v1/sla/calendar/2026-12-31", headers=h).status_code == 404
    assert api.get("/api/v1/sla/calendar", headers=h).json() == []


def test_filing_condition_limits_are_edited_by_admins(api, login, world):
    h = login("admin")
    url = "/api/v1/catalog/categories/06010/conditions/01"
    r = api.patch(url, json={"limit": "2h", "closing_condition": "垃圾已清运"}, headers=h)
    assert r.status_code == 200, r.text
    cond = r.json()["conditions"][0]
    assert (cond["limit"], cond["closing_condition"]) == ("2h", "垃圾已清运")
    assert api.patch(url, json={"limit": "2x"}, headers=h).status_code == 422
    assert api.patch(url, json={"limit": "2h"}, headers=login("lead1")).status_code == 403
    assert api.patch("/api/v1/catalog/categories/06010/conditions/77", json={}, headers=h).status_code == 404
