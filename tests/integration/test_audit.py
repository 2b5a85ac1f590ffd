"""The history cannot be edited unnoticed: case events and administrative changes are hash-chained."""

from __future__ import annotations

from sqlalchemy import delete, select, update
from typer.testing import CliRunner

from cityloop.audit.models import AuditEntry
from cityloop.audit.keys import audit_key
from cityloop.audit.service import verify_admin_log
from cityloop.audit.trail import verify_case_events
from cityloop.cases.models import CaseEvent


def _walk(api, login, world, steps=(("accept", "operator1"), ("file", "lead1"), ("dispatch", "dispatcher1"))):
    lon, lat = world.point("341122100001001")
    case = api.post("/api/v1/cases", json={"category_code": "06010", "lon": lon, "lat": lat, "description": "垃圾"},
                    headers=login("inspector01")).json()
    for action, user in steps:
        assert api.post(f"/api/v1/cases/{case['id']}/actions/{action}", headers=login(user)).status_code == 200
    return case


def test_an_edited_or_deleted_event_is_found(api, login, world, session, settings):
    key = audit_key(settings)
    case = _walk(api, login, world)
    other = _walk(api, login, world, steps=())
    checked, problems = verify_case_events(session, key)
    assert (checked, problems) == (5, [])
    session.execute(update(CaseEvent).where(CaseEvent.case_id == case["id"], CaseEvent.seq == 2)
                    .values(payload={"note": "改过了"}))
    _, problems = verify_case_events(session, key)
    assert [(p.where, "edited" in p.what) for p in problems] == [(f"{case['number']}#2", True)]
    session.rollback()
    session.execute(delete(CaseEvent).where(CaseEvent.case_id == other["id"]))
    session.execute(delete(CaseEvent).where(CaseEvent.case_id == case["id"], CaseEvent.seq == 4))  # the newest
    _, problems = verify_case_events(session, key)
    assert {p.where for p in problems} == {case["number"], other["number"]}
    session.rollback()
    session.execute(delete(CaseEvent).where(CaseEvent.case_id == case["id"], CaseEvent.seq == 2))  # one inside
    _, problems = verify_case_events(session, key)
    assert any("missing" in p.what for p in problems) and any("chain broken" in p.what for p in problems)


def test_administrative_changes_are_logged_and_chained(api, login, world, session):
    admin = login("admin")
    user = {"username": "auditor", "display_name": "审计员", "password": "long-enough-pw", "roles": ["leader"]}
    assert api.post("/api/v1/users", json=user, headers=admin).status_code == 201
    rule = api.get("/api/v1/routing/rules", headers=login("dispatcher1")).json()[0]
    assert api.delete(f"/api/v1/routing/rules/{rule['id']}", headers=login("dispatcher1")).status_code == 204
    api.put("/api/v1/sla/calendar/2026-12-31", json={"day": "2026-12-31", "is_workday": False}, headers=admin)
    assert api.post("/api/v1/users", json=user, headers=admin).status_code == 409  # refused: nothing logged
    log = api.get("/api/v1/audit/log", headers=admin).json()
    assert [(e["action"], e["actor"]) for e in log] == [
        ("calendar.set", "admin"), ("routing.retire", "dispatcher1"), ("user.add", "admin")]
    assert "password" not in log[-1]["details"]
    assert api.get("/api/v1/audit/log", headers=login("lead1")).status_code == 403
    assert verify_admin_log(session) == []
    session.execute(update(AuditEntry).where(AuditEntry.action == "user.add").values(target="someone-else"))
    assert [p.what for p in verify_admin_log(session)] == ["内容与哈希不符 / entry edited"]
    session.rollback()
    last = session.scalar(select(AuditEntry.id).order_by(AuditEntry.id.desc()).limit(1))
    session.execute(delete(AuditEntry).where(AuditEntry.id == last))
    assert verify_admin_log(session)[-1].where == "audit_log"


def test_audit_verify_command(tmp_path, monkeypatch):
    from datetime import datetime

    from cityloop.cases import automation
    from cityloop.cli import _mount_optional, app
    from cityloop.config import Settings, get_settings
    from cityloop.geo.queries import build_index
    from cityloop.sla.service import calendar
    from cityloop.db import make_engine, make_session_factory
    from cityloop.db.migrate import upgrade
    from tests.conftest import SHANGHAI
    from tests.factories import seed_world

    url = f"sqlite:///{tmp_path / 'audit.db'}"
    upgrade(url)
    settings = Settings(database_url=url, demo=True, secret_key="x" * 32)
    now = datetime(2026, 11, 23, 9, tzinfo=SHANGHAI)
    with make_session_factory(make_engine(url))() as s:
        world = seed_world(s, now)
        lon, lat = world.point("341122100001001")
        case = automation.open_case(s, settings, calendar(s, settings), now, build_index(s).locate, source="sensor",
                                    category_code="06010", lon=lon, lat=lat, description="积水", department_code="d01")
        s.commit()
    monkeypatch.setenv("CITYLOOP_DATABASE_URL", url)
    monkeypatch.setenv("CITYLOOP_DEMO", "1")
    monkeypatch.setenv("CITYLOOP_SECRET_KEY", "x" * 32)  # the audit key derives from it: the same as the writer's
    get_settings.cache_clear()
    _mount_optional()
    try:
        result = CliRunner().invoke(app, ["audit", "verify"])
        assert result.exit_code == 0 and "intact" in result.output and "4" in result.output
        with make_engine(url).begin() as conn:
            conn.execute(update(CaseEvent).where(CaseEvent.seq == 3).values(actor_name="someone"))
        result = CliRunner().invoke(app, ["audit", "verify"])
        assert result.exit_code == 1 and f"{case.number}#3" in result.output
    finally:
        get_settings.cache_clear()
