"""Tampering directly in the database is found: keyed event MACs over the case state, one global chain over every
case event and admin entry, and anchors of its head outside the database (`cityloop audit verify`)."""

from __future__ import annotations

import os
import shutil
import stat
from datetime import timedelta

import pytest
from sqlalchemy import delete, select, text, update
from typer.testing import CliRunner

from cityloop.state import app_state
from cityloop.audit.keys import audit_key
from cityloop.audit.models import AuditChainHead, AuditEntry
from cityloop.audit.trail import seal_all, verify_all
from cityloop.cases.domain import event_hash
from cityloop.cases.models import Case, CaseEvent
from cityloop.db import Base

SECRET = "y" * 40


def walk(api, login, world, clock=None) -> dict[str, dict]:
    """Cases along the main paths of the loop, and two administrative changes."""

    def report(user="inspector01", **extra):
        lon, lat = world.point("341122100001001")
        body = {"category_code": "06010", "lon": lon, "lat": lat, "description": "路边有暴露垃圾", **extra}
        r = api.post("/api/v1/cases", json=body, headers=login(user))
        assert r.status_code == 201, r.text
        return r.json()

    def act(case, action, user, **body):
        r = api.post(f"/api/v1/cases/{case['id']}/actions/{action}", json=body or None, headers=login(user))
        assert r.status_code == 200, r.text
        return r.json()

    def dispatched(case):
        for action, user in (("accept", "operator1"), ("file", "lead1"), ("dispatch", "dispatcher1")):
            case = act(case, action, user)
        return case

    closed = dispatched(report())
    closed = act(closed, "handle", "d01", result="已清理")
    closed = act(closed, "check_fail", "inspector01", note="仍有垃圾")
    closed = act(closed, "handle", "d01", result="已彻底清理")
    for action, user in (("check_ok", "inspector01"), ("close", "lead1")):
        closed = act(closed, action, user)
    public = act(report("operator1", source="public", reporter_phone="13812345678"), "accept", "operator1")
    public = act(public, "verify_ok", "inspector01")
    moved = dispatched(report())
    act(moved, "request_return", "d01", note="不属于本部门")
    act(moved, "approve", "dispatcher1")
    moved = act(moved, "dispatch", "dispatcher1", department_code="d02")
    act(moved, "request_extension", "d02", note="协调", extension="1d")
    moved = act(moved, "approve", "dispatcher1")
    paused = dispatched(report())
    act(paused, "request_suspension", "d01", note="需资金")
    act(paused, "approve", "dispatcher1")
    paused = act(paused, "resume", "dispatcher1")
    paused = act(paused, "supervise", "leader1", note="请加快")
    merged = act(report(), "merge", "operator1", target_case=public["number"])
    void = act(act(report(), "request_void", "operator1", note="重复录入"), "void", "lead1", note="同意")
    admin = login("admin")
    user = {"username": "auditor", "display_name": "审计员", "password": "long-enough-pw", "roles": ["leader"]}
    assert api.post("/api/v1/users", json=user, headers=admin).status_code == 201
    assert api.put("/api/v1/sla/calendar/2026-12-31", json={"day": "2026-12-31", "is_workday": False},
                   headers=admin).status_code == 200
    return {"closed": closed, "public": public, "moved": moved, "paused": paused, "merged": merged, "void": void}


# --- tampering, done with SQL the way someone with database access would ----------------------------------------

def _rewrite_history(db, case):
    """Edit the 2nd event and recompute the case's hash chain and head, as revision 0007 computed it."""
    c = CaseEvent
    events = db.execute(select(c.id, c.seq, c.action, c.actor_id, c.actor_name, c.actor_role, c.at, c.from_stage,
                               c.to_stage, c.payload).where(c.case_id == case["id"]).order_by(c.seq))
    prev = ""
    for e in list(events):
        payload = {**(e.payload or {}), "note": "改过了"} if e.seq == 2 else (e.payload or {})
        digest = event_hash(prev, case["number"], e.seq, e.action, e.actor_id, e.actor_name, e.actor_role, e.at,
                            e.from_stage, e.to_stage, payload)
        db.execute(update(CaseEvent).where(CaseEvent.id == e.id).values(payload=payload, prev_hash=prev, hash=digest))
        prev = digest
    db.execute(update(Case).where(Case.id == case["id"]).values(event_hash=prev))
    return f"{case['number']}#2"


def _delete_case(db, case):
    """Delete a case with everything that points at it."""
    for table in Base.metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column.table.name == "cases" and table.name != "cases":
                db.execute(delete(table).where(fk.parent == case["id"]))
    db.execute(delete(Case).where(Case.id == case["id"]))
    return "sealed entries between"


def _truncate(db, case):
    """Delete the newest event and put the case row's chain bookkeeping back one step."""
    newest = db.execute(select(CaseEvent.__table__).where(CaseEvent.case_id == case["id"])
                        .order_by(CaseEvent.seq.desc()).limit(1)).one()
    db.execute(delete(CaseEvent).where(CaseEvent.id == newest.id))
    db.execute(update(Case).where(Case.id == case["id"]).values(
        event_count=Case.event_count - 1, event_hash=newest.prev_hash, stage=newest.from_stage))
    return case["number"]


def _edit(**values):
    def tamper(db, case):
        db.execute(update(Case).where(Case.id == case["id"]).values(**values))
        return f"{case['number']} 案件记录被直接修改"

    return tamper


def _edit_admin(db, case):
    entry = db.execute(select(AuditEntry.id).where(AuditEntry.action == "user.add")).scalar_one()
    db.execute(update(AuditEntry).where(AuditEntry.id == entry).values(target="someone-else"))
    return f"audit_log#{entry}"


def _move_department(db, case):
    other = db.execute(text("SELECT id FROM departments WHERE code = 'd01'")).scalar_one()
    return _edit(department_id=other)(db, case)


def _renumber(db, case):
    db.execute(update(Case).where(Case.id == case["id"]).values(number="LA2026112399999"))
    return "LA2026112399999#1"


TAMPER = {
    "rewrite history, hashes recomputed": ("closed", _rewrite_history),
    "delete a case and its events": ("paused", _delete_case),
    "delete the newest event, row put back": ("closed", _truncate),
    "edit the description": ("public", _edit(description="什么都没有")),
    "edit the reporter phone": ("public", _edit(reporter_phone="13900000000")),
    "move the location": ("public", _edit(lon=118.5, lat=32.5)),
    "change the department": ("moved", _move_department),
    "change the stage": ("closed", _edit(stage="dispatched")),
    "edit the admin log": ("closed", _edit_admin),
    "renumber a case": ("public", _renumber),
}


@pytest.fixture
def key(settings):
    return audit_key(settings)


def test_the_whole_loop_verifies_and_every_entry_is_sealed_once(api, login, world, session, key, clock):
    from cityloop.cases.tasks import sweep

    walk(api, login, world)
    clock.advance(days=3)
    assert sweep(session, app_state(api.app).settings, clock.now()) > 0  # automatic 督办 events
    events = session.scalar(select(text("count(*)")).select_from(CaseEvent))
    admin = session.scalar(select(text("count(*)")).select_from(AuditEntry))
    assert seal_all(session, key, clock.now()) == events + admin
    assert seal_all(session, key, clock.now()) == 0
    report = verify_all(session, key, None)
    assert (report.events, report.sealed, report.problems) == (events, events + admin, [])
    head = session.get(AuditChainHead, 1)
    assert head.seq == events + admin


@pytest.mark.parametrize("scenario", list(TAMPER))
def test_tampering_in_the_database_is_found(api, login, world, session, key, clock, scenario):
    cases = walk(api, login, world)
    seal_all(session, key, clock.now())
    assert verify_all(session, key, None).problems == []
    which, tamper = TAMPER[scenario]
    expected = tamper(session, cases[which])
    found = [f"{p.where} {p.what}" for p in verify_all(session, key, None).problems]
    assert found and any(expected in f for f in found), found


def test_a_wrong_key_fails_everything(api, login, world, session, key, clock):
    walk(api, login, world)
    seal_all(session, key, clock.now())
    problems = verify_all(session, b"k" * 32, None).problems
    assert problems[0].where == "audit key" and any(p.where == "chain head" for p in problems)


# --- the command line on a database file, with the anchor file outside it -----------------------------------

@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A database file after the whole loop (built once, copied per test)."""
    from fastapi.testclient import TestClient

    from cityloop.app import create_app
    from cityloop.config import Settings
    from cityloop.db import make_engine, make_session_factory
    from cityloop.db.migrate import upgrade
    from cityloop.org.security import issue_token
    from cityloop.shared.clock import FixedClock
    from tests.conftest import SHANGHAI
    from tests.factories import seed_world
    from datetime import datetime

    path = tmp_path_factory.mktemp("audit") / "template.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    clock = FixedClock(datetime(2026, 11, 23, 9, tzinfo=SHANGHAI))
    engine = make_engine(url)
    with make_session_factory(engine)() as s:
        world = seed_world(s, clock.now())
        s.commit()
    settings = Settings(database_url=url, demo=True, secret_key=SECRET, scheduler_in_server=False,
                        media_dir=path.parent / "media")

    def login(username):
        return {"Authorization": f"Bearer {issue_token(SECRET, world.users[username].id, username, clock.now(), 600)}"}

    with TestClient(create_app(settings, clock=clock)) as api:
        cases = walk(api, login, world)
    engine.dispose()
    return path, cases


@pytest.fixture
def cli(template, tmp_path, monkeypatch):
    """Run `cityloop …` against a fresh copy of the template database; returns (run, url, cases)."""
    from cityloop.cli import _mount_optional, app
    from cityloop.config import get_settings

    path = tmp_path / "cityloop.db"
    shutil.copy(template[0], path)
    url = f"sqlite:///{path}"
    monkeypatch.setenv("CITYLOOP_DATABASE_URL", url)
    monkeypatch.setenv("CITYLOOP_DEMO", "1")
    monkeypatch.setenv("CITYLOOP_SECRET_KEY", SECRET)
    monkeypatch.setenv("CITYLOOP_AUDIT_ANCHOR_FILE", str(tmp_path / "outside" / "anchors.jsonl"))
    _mount_optional()

    def run(*args):
        get_settings.cache_clear()
        return CliRunner().invoke(app, ["audit", *args])

    yield run, url, template[1]
    get_settings.cache_clear()


def _sql(url, tamper, case):
    from cityloop.db import make_engine

    engine = make_engine(url)
    with engine.begin() as conn:
        expected = tamper(conn, case)
    engine.dispose()
    return expected


def test_verify_command_passes_an_untouched_database(cli, tmp_path):
    run, _, _ = cli
    result = run("verify")
    assert result.exit_code == 0, result.output
    assert "intact" in result.output and "no anchors" in result.output
    result = run("anchor")
    assert result.exit_code == 0, result.output
    anchors = tmp_path / "outside" / "anchors.jsonl"
    assert stat.S_IMODE(os.stat(anchors).st_mode) == 0o600 and len(anchors.read_text().splitlines()) == 1
    result = run("verify", "--no-seal")
    assert result.exit_code == 0 and "1 个锚点" in result.output, result.output


@pytest.mark.parametrize("scenario", ["rewrite history, hashes recomputed", "delete a case and its events",
                                      "edit the description", "edit the reporter phone", "move the location",
                                      "change the department", "change the stage", "edit the admin log"])
def test_verify_command_names_what_was_tampered_with(cli, scenario):
    run, url, cases = cli
    assert run("anchor").exit_code == 0
    which, tamper = TAMPER[scenario]
    expected = _sql(url, tamper, cases[which])
    result = run("verify")
    assert result.exit_code == 1, result.output
    assert expected.split(" ")[0] in result.output and "problems" in result.output, result.output


def test_deleting_the_newest_entries_with_an_old_head_is_caught_by_the_anchor(cli):
    """Someone deletes the newest case and puts back the chain head row as it was before it: only the copy of
    the head outside the database can tell."""
    run, url, cases = cli
    from cityloop.db import make_engine

    engine = make_engine(url)
    void = cases["void"]
    with engine.begin() as conn:  # unseal the newest case's events, seal the rest: the "old" head
        conn.execute(update(CaseEvent).where(CaseEvent.case_id == void["id"]).values(chain_seq=None))
    assert run("seal").exit_code == 0
    with engine.begin() as conn:
        old = conn.execute(select(AuditChainHead.seq, AuditChainHead.mac)).one()
    assert run("anchor").exit_code == 0  # seals the newest case's events and anchors the new head
    with engine.begin() as conn:
        _delete_case(conn, void)
        conn.execute(update(AuditChainHead).values(seq=old.seq, mac=old.mac))
    engine.dispose()
    result = run("verify")
    assert result.exit_code == 1 and "the anchor counts" in result.output, result.output


def test_verify_command_with_the_wrong_key_fails(cli, monkeypatch):
    run, _, _ = cli
    assert run("seal").exit_code == 0
    monkeypatch.setenv("CITYLOOP_AUDIT_KEY", "z" * 32)
    result = run("verify", "--no-seal")
    assert result.exit_code == 1 and "CITYLOOP_AUDIT_KEY" in result.output, result.output
    monkeypatch.setenv("CITYLOOP_AUDIT_KEY", "short")
    result = run("verify")
    assert result.exit_code == 2 and "32" in result.output


def test_untampered_after_the_sealer_ran_concurrently_with_writers(cli):
    """Reports written by several threads while the sealer seals leave nothing unsealed, out of order or broken."""
    import threading

    from cityloop.audit.tasks import seal_once
    from cityloop.cases import automation
    from cityloop.config import get_settings
    from cityloop.db import make_engine, make_session_factory
    from cityloop.geo.queries import build_index
    from cityloop.shared.clock import SystemClock
    from cityloop.sla.service import calendar

    run, url, _ = cli
    get_settings.cache_clear()
    settings = get_settings()
    engine = make_engine(url)
    factory = make_session_factory(engine)
    state = type("State", (), {})()
    state.settings, state.engine, state.session_factory, state.clock = settings, engine, factory, SystemClock()
    with factory() as s:
        lon, lat = s.execute(select(Case.lon, Case.lat).limit(1)).one()
        locate, cal = build_index(s).locate, calendar(s, settings)
    stop = threading.Event()

    def sealer():
        while not stop.is_set():
            seal_once(state, anchor=True)

    def writer():
        for _ in range(10):
            with factory() as s:
                automation.open_case(s, settings, cal, SystemClock().now() - timedelta(minutes=1), locate,
                                     source="sensor", category_code="06010", lon=lon, lat=lat, description="积水")
                s.commit()

    threads = [threading.Thread(target=writer) for _ in range(3)] + [threading.Thread(target=sealer)]
    for t in threads:
        t.start()
    for t in threads[:-1]:
        t.join(120)
    stop.set()
    threads[-1].join(60)
    result = run("verify")
    assert result.exit_code == 0, result.output
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT (SELECT count(*) FROM case_events) + (SELECT count(*) FROM audit_log), "
                                 "(SELECT seq FROM audit_chain_head), (SELECT count(*) FROM cases)")).one()
    engine.dispose()
    assert rows[0] == rows[1] and rows[2] == 6 + 30


def test_upgrading_a_database_chained_by_0007_re_macs_its_history(tmp_path, monkeypatch):
    """Revision h19e1 keys the unkeyed history an existing database holds, so `audit verify` starts intact."""
    from datetime import datetime

    from alembic import command

    from cityloop.cases import automation
    from cityloop.config import Settings, get_settings
    from cityloop.db import make_engine, make_session_factory
    from cityloop.geo.queries import build_index
    from cityloop.db.migrate import alembic_config, upgrade
    from cityloop.sla.service import calendar
    from tests.conftest import SHANGHAI
    from tests.factories import seed_world

    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url)
    settings = Settings(database_url=url, demo=True, secret_key=SECRET)
    now = datetime(2026, 11, 23, 9, tzinfo=SHANGHAI)
    engine = make_engine(url)
    with make_session_factory(engine)() as s:
        world = seed_world(s, now)
        lon, lat = world.point("341122100001001")
        for _ in range(3):
            automation.open_case(s, settings, calendar(s, settings), now, build_index(s).locate, source="sensor",
                                 category_code="06010", lon=lon, lat=lat, description="积水", department_code="d01")
            s.commit()
    command.downgrade(alembic_config(url), "h19e1-1")
    with engine.begin() as conn:  # the history as revision 0007 left it: SHA-256 chains
        for number, case_id in conn.execute(text("SELECT number, id FROM cases")).all():
            _rewrite_history(conn, {"id": case_id, "number": number})
    monkeypatch.setenv("CITYLOOP_DEMO", "1")
    monkeypatch.setenv("CITYLOOP_SECRET_KEY", SECRET)
    get_settings.cache_clear()
    try:
        upgrade(url)
    finally:
        get_settings.cache_clear()
    with make_session_factory(engine)() as s:
        seal_all(s, audit_key(settings), now)
        report = verify_all(s, audit_key(settings), None)
    engine.dispose()
    assert report.events == 12 and report.problems == []
