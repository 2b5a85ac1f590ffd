"""Cases the platform opens itself (sensor alarms, truck violations) and notes it adds to them."""

from __future__ import annotations

import pytest

from cityloop.cases import actions, automation
from cityloop.cases.schemas import ActionIn
from cityloop.cases.service import Ctx
from cityloop.org.actor import SYSTEM_ACTOR
from cityloop.geo.queries import build_index
from cityloop.shared.errors import AppError
from cityloop.sla.service import calendar


@pytest.fixture
def auto(session, settings, clock, world):
    index = build_index(session)
    cal = calendar(session, settings)

    def open_(**kw):
        lon, lat = world.point("341122100001002")
        kw = {"source": "sensor", "category_code": "01001", "lon": lon, "lat": lat, "description": "井盖位移报警", **kw}
        case = automation.open_case(session, settings, cal, clock.now(), index.locate, **kw)
        session.commit()
        return case

    return open_


def test_a_sensor_alarm_becomes_an_urgent_dispatched_case(auto, api, login):
    case = auto(department_code="d03", condition_code="01", evidence={"tilt_deg": 35.0}, key="alarm-7")
    assert (case.stage, case.urgent, case.source) == ("dispatched", True, "sensor")
    got = api.get(f"/api/v1/cases/{case.id}", headers=login("d03")).json()
    assert got["department_code"] == "d03" and got["node"] == "handle"
    assert got["node_due_at"] == "2026-11-23T11:00:00+08:00"  # 紧急 2 h, continuous
    events = api.get(f"/api/v1/cases/{case.id}/events", headers=login("lead1")).json()
    assert [(e["action"], e["actor_role"]) for e in events] == [
        ("report", "system"), ("accept", "system"), ("file", "system"), ("dispatch", "system")]
    assert events[0]["payload"]["evidence"] == {"tilt_deg": 35.0}
    assert auto(department_code="d03", key="alarm-7").id == case.id  # the same alarm never opens a second case


def test_without_a_department_the_routing_suggestion_is_used(auto):
    case = auto(category_code="06010", source="fleet", description="渣土车遗撒")
    assert case.stage == "dispatched" and case.department_id is not None


def test_notes_and_the_public_rating(auto, session, settings, clock, api, login):
    case = auto(department_code="d03")
    automation.note(session, settings, calendar(session, settings), clock.now(), case.id, "报警已解除",
                    {"alarm": "cleared"})
    session.commit()
    events = api.get(f"/api/v1/cases/{case.id}/events", headers=login("lead1")).json()
    assert events[-1]["action"] == "annotate" and events[-1]["payload"] == {"note": "报警已解除", "alarm": "cleared"}
    ctx = Ctx(session, settings, calendar(session, settings), clock.now(), SYSTEM_ACTOR)
    with pytest.raises(AppError) as err:
        actions.apply(ctx, case.id, "rate", ActionIn(rating="满意"))
    assert err.value.status == 409  # only a closed case is rated
    case.stage = "closed"
    session.commit()
    actions.apply(ctx, case.id, "rate", ActionIn(rating="基本满意"))
    with pytest.raises(AppError) as err:
        actions.apply(ctx, case.id, "rate", ActionIn(rating="满意"))
    assert err.value.code == "already-rated"


def test_an_assigned_deadline_replaces_the_condition_limit(auto, api, login):
    from datetime import datetime

    from tests.conftest import SHANGHAI

    due = datetime(2026, 11, 25, 17, 0, tzinfo=SHANGHAI)
    case = auto(source="assigned", category_code="06010", department_code="d01", required_due_at=due)
    got = api.get(f"/api/v1/cases/{case.id}", headers=login("lead1")).json()
    assert got["node"] == "handle" and got["node_due_at"] == "2026-11-25T17:00:00+08:00"


def test_withdrawing_voids_an_open_case_and_only_notes_a_finished_one(auto, session, settings, clock, api, login):
    cal = calendar(session, settings)
    case = auto(department_code="d03", key="violation-1")
    automation.withdraw(session, settings, cal, clock.now(), case.id, "申诉成立，撤销违规认定", {"appeal": "cancelled"})
    session.commit()
    got = api.get(f"/api/v1/cases/{case.id}", headers=login("lead1")).json()
    events = api.get(f"/api/v1/cases/{case.id}/events", headers=login("lead1")).json()
    assert got["stage"] == "void" and (events[-1]["action"], events[-1]["actor_role"]) == ("void", "system")
    automation.withdraw(session, settings, cal, clock.now(), case.id, "再次撤销")
    session.commit()
    events = api.get(f"/api/v1/cases/{case.id}/events", headers=login("lead1")).json()
    assert events[-1]["action"] == "annotate" and events[-1]["payload"]["note"] == "再次撤销"


def test_a_refused_case_leaves_nothing_and_the_next_one_opens_under_its_own_number(auto, session, api, login):
    with pytest.raises(AppError) as err:
        auto(department_code="no-such-department", description="拒绝的报警")
    assert err.value.status == 422
    case = auto(department_code="d03", description="下一条报警")  # on SQLite it may get the refused row's id
    session.expire_all()
    got = api.get(f"/api/v1/cases/{case.id}", headers=login("lead1")).json()
    assert (got["description"], got["number"]) == ("下一条报警", case.number)
    listed = api.get("/api/v1/cases", params={"q": "拒绝的报警"}, headers=login("lead1")).json()
    assert listed["total"] == 0
