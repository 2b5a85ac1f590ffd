"""Login, lockout, deadline preview, the overdue sweep and its single-process lock."""

from __future__ import annotations

from cityloop.cases.tasks import sweep
from cityloop.shared.singleton import only_one


def test_login_and_me(api, world):
    r = api.post("/api/v1/auth/token", data={"username": "dispatcher1", "password": "demo"})
    assert r.status_code == 200
    me = api.get("/api/v1/me", headers={"Authorization": f"Bearer {r.json()['access_token']}"}).json()
    assert me["username"] == "dispatcher1" and me["roles"] == ["dispatcher"]


def test_wrong_password_then_a_delay(api, world, settings, clock):
    for _ in range(settings.login_max_failures):
        r = api.post("/api/v1/auth/token", data={"username": "lead1", "password": "nope"})
        assert r.status_code == 401
    r = api.post("/api/v1/auth/token", data={"username": "lead1", "password": "demo"})
    assert r.status_code == 429 and r.json()["code"] == "login-throttled"
    clock.advance(seconds=settings.login_delay_seconds)  # the delay is over: the right password works
    assert api.post("/api/v1/auth/token", data={"username": "lead1", "password": "demo"}).status_code == 200


def test_unknown_user_and_bad_token(api, world):
    assert api.post("/api/v1/auth/token", data={"username": "ghost", "password": "x"}).status_code == 401
    assert api.get("/api/v1/cases").status_code == 401
    assert api.get("/api/v1/cases", headers={"Authorization": "Bearer garbage"}).status_code == 401


def test_a_value_the_database_cannot_store_is_refused_as_input(api, world):
    r = api.post("/api/v1/auth/token", data={"username": "\x00", "password": "x"})
    # PostgreSQL text cannot hold NUL: a 422 there; SQLite looks the name up and finds nobody
    assert r.status_code in (401, 422) and r.headers["content-type"] == "application/problem+json"


def test_inspector_duty_grids_in_me(api, login):
    assert api.get("/api/v1/me", headers=login("inspector01")).json()["duty_grids"] == ["DG01"]


def test_departments_listing(api, login):
    rows = api.get("/api/v1/departments?group=class2", headers=login("dispatcher1")).json()
    assert {d["code"] for d in rows} == {"t100", "t000"}


def test_sla_preview(api, login):
    h = login("lead1")
    r = api.get("/api/v1/sla/preview", params={"start": "2026-09-30T17:00:00+08:00", "limit": "4h"}, headers=h)
    assert r.status_code == 200 and r.json()["due_at"] == "2026-10-08T11:00:00+08:00"
    r = api.get("/api/v1/sla/preview", params={"start": "2026-09-30T17:00:00+08:00", "limit": "4h", "urgent": True},
                headers=h)
    assert r.json()["due_at"] == "2026-09-30T21:00:00+08:00"
    r = api.get("/api/v1/sla/preview", params={"start": "2026-09-30T17:00:00+08:00", "limit": "4x"}, headers=h)
    assert r.status_code == 422
    r = api.get("/api/v1/sla/preview", params={"start": "2026-09-30T17:00:00", "limit": "4h"}, headers=h)
    assert r.status_code == 422  # a time without an offset is ambiguous


def test_calendar_override_changes_deadlines(api, login):
    h = login("admin")
    r = api.put("/api/v1/sla/calendar/2026-11-24", json={"day": "2026-11-24", "is_workday": False, "note": "停电"},
                headers=h)
    assert r.status_code == 200
    r = api.get("/api/v1/sla/preview", params={"start": "2026-11-23T17:00:00+08:00", "limit": "2h"}, headers=h)
    assert r.json()["due_at"] == "2026-11-25T09:00:00+08:00"
    assert api.put("/api/v1/sla/calendar/2026-11-24", json={"day": "2026-11-24", "is_workday": True},
                   headers=login("lead1")).status_code == 403


def test_sweep_marks_overdue_once_and_records_supervision(api, login, world, session, settings, clock):
    lon, lat = world.point("341122100001001")
    case = api.post("/api/v1/cases", json={"category_code": "06010", "lon": lon, "lat": lat, "description": "x"},
                    headers=login("inspector01")).json()
    assert sweep(session, settings, clock.now()) == 0
    clock.advance(hours=2)  # the 30-minute 受理 limit has run out
    assert sweep(session, settings, clock.now()) == 1
    assert sweep(session, settings, clock.now()) == 0
    got = api.get(f"/api/v1/cases/{case['id']}", headers=login("lead1")).json()
    assert got["overdue"] is True and got["light"] == "red" and got["supervise_count"] == 1
    events = api.get(f"/api/v1/cases/{case['id']}/events", headers=login("lead1")).json()
    assert events[-1]["action"] == "auto_supervise" and events[-1]["actor_role"] == "system"
    leader_inbox = api.get("/api/v1/tasks", headers=login("leader1")).json()
    assert [t["case_id"] for t in leader_inbox] == [case["id"]]


def test_only_one_sweeper(engine):
    with only_one(engine, "test-lock") as first:
        assert first is True
        if engine.dialect.name == "postgresql":
            other = engine.execution_options()  # a second connection from the pool
            with only_one(other, "test-lock") as second:
                assert second is False
        else:
            with only_one(engine, "test-lock") as second:
                assert second is False
