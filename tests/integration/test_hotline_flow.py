"""The hotline flow: 保存并受理 in one request for the operator (saved only for others), the caller's name on
the case, and 回访 recorded at closing with satisfaction, which 满意率 counts."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from cityloop.cases.models import Case, CaseEvent


@pytest.fixture(autouse=True)
def _history_vouches_for_every_case(session, settings):
    """The events' MACs and state digests still match the case rows (`audit verify`)."""
    yield
    from cityloop.audit.keys import audit_key
    from cityloop.audit.trail import verify_case_events

    assert verify_case_events(session, audit_key(settings))[1] == []


def _call(api, login, world, user="operator1", accept=True, **extra):
    lon, lat = world.point("341122100001001")
    body = {"category_code": "06010", "lon": lon, "lat": lat, "description": "来电：小区门口垃圾堆积",
            "source": "hotline", "reporter_name": "王女士", "reporter_phone": "13900001111", **extra}
    return api.post("/api/v1/cases" + ("?accept=true" if accept else ""), json=body, headers=login(user))


def test_operator_saves_and_accepts_in_one_request(api, login, world, session):
    r = _call(api, login, world)
    assert r.status_code == 201, r.text
    case = r.json()
    assert case["stage"] == "verifying"  # accepted; a hotline report goes on to 核实
    events = session.scalars(select(CaseEvent.action).where(CaseEvent.case_id == case["id"])
                             .order_by(CaseEvent.seq)).all()
    assert events == ["report", "accept"]
    assert case["reporter_name"] == "王女士"  # the caller's name on the case
    page = api.get(f"/console/cases/{case['id']}", headers=login("lead1"))
    assert "王女士" in page.text


def test_a_role_that_may_not_accept_gets_the_save_only_path(api, login, world, session):
    r = _call(api, login, world, user="lead1")
    assert r.status_code == 201, r.text
    assert r.json()["stage"] == "reported"
    assert session.scalars(select(CaseEvent.action).where(CaseEvent.case_id == r.json()["id"])).all() == ["report"]


def test_save_and_accept_replays_by_idempotency_key(api, login, world, session):
    lon, lat = world.point("341122100001001")
    body = {"category_code": "06010", "lon": lon, "lat": lat, "description": "重复提交", "source": "hotline"}
    h = {**login("operator1"), "Idempotency-Key": "call-1"}
    first = api.post("/api/v1/cases?accept=true", json=body, headers=h)
    again = api.post("/api/v1/cases?accept=true", json=body, headers=h)
    assert (first.status_code, again.status_code) == (201, 200) and first.json()["id"] == again.json()["id"]
    assert session.scalar(select(Case.stage).where(Case.id == first.json()["id"])) == "verifying"


def test_hotline_page_offers_save_and_accept_to_operators_only(api, login, world):
    assert "保存并受理" in api.get("/console/hotline", headers=login("operator1")).text
    assert "保存并受理" not in api.get("/console/hotline", headers=login("lead1")).text


def _to_checked(api, login, world) -> dict:
    case = _call(api, login, world).json()
    for action, user, body in [("verify_ok", "inspector01", {}), ("file", "lead1", {}),
                               ("dispatch", "dispatcher1", {}), ("handle", "d01", {"result": "已清理"}),
                               ("check_ok", "inspector01", {})]:
        r = api.post(f"/api/v1/cases/{case['id']}/actions/{action}", json=body, headers=login(user))
        assert r.status_code == 200, (action, r.text)
    return r.json()


def test_callback_recorded_at_closing_and_counted_for_satisfaction(api, login, world, session):
    case = _to_checked(api, login, world)
    page = api.get(f"/console/cases/{case['id']}", headers=login("lead1")).text
    assert "回访情况" in page and "基本满意" in page  # the close form asks for the return call
    r = api.post(f"/api/v1/cases/{case['id']}/actions/close", headers=login("lead1"),
                 json={"callback": "已电话回访，王女士确认已清理", "rating": "基本满意"})
    assert r.status_code == 200, r.text
    assert r.json()["stage"] == "closed"
    events = api.get(f"/api/v1/cases/{case['id']}/events", headers=login("lead1")).json()
    close, rate = events[-2], events[-1]
    assert close["action"] == "close" and close["payload"]["callback"] == {
        "result": "已电话回访，王女士确认已清理", "rating": "基本满意"}
    assert rate["action"] == "rate" and rate["payload"] == {"rating": "基本满意", "via": "callback"}
    page = api.get(f"/console/cases/{case['id']}", headers=login("lead1")).text
    assert "已电话回访，王女士确认已清理" in page
    # a later public rating is refused: the case has its satisfaction
    from cityloop.assessment import domain
    assert "基本满意" in domain.SATISFIED
    report = api.get("/api/v1/assessment/department?period=2026-11", headers=login("leader1"))
    assert report.status_code == 200, report.text
    d01 = next(row for row in report.json()["rows"] if row["object_id"] == world.departments["d01"].id)
    assert d01["counters"]["rated"] == 1 and d01["counters"]["satisfied"] == 1
    assert d01["rates"]["satisfaction_rate"] == pytest.approx(1.0)


def test_close_without_callback_still_works_and_bad_rating_is_422(api, login, world):
    case = _to_checked(api, login, world)
    bad = api.post(f"/api/v1/cases/{case['id']}/actions/close", headers=login("lead1"), json={"rating": "很好"})
    assert bad.status_code == 422
    ok = api.post(f"/api/v1/cases/{case['id']}/actions/close", headers=login("lead1"))
    assert ok.status_code == 200 and ok.json()["stage"] == "closed"
    events = api.get(f"/api/v1/cases/{case['id']}/events", headers=login("lead1")).json()
    assert events[-1]["action"] == "close" and "callback" not in events[-1]["payload"]
