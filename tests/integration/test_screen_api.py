"""The big screen's API: the month's 结案率 is the assessment's, the feed speaks Chinese, markers carry names."""

from __future__ import annotations

import re

import pytest

from cityloop.cases.domain import ACTION_NAMES, OPEN_STAGES, ROLE_CN, STAGES
from tests.integration.test_assessment_api import MON_9, loop, make_month  # noqa: F401


def test_the_screen_closure_rate_is_the_assessments(api, login, world, make_month):  # noqa: F811
    make_month(MON_9)
    screen = api.get("/api/v1/screen/summary", headers=login("leader1")).json()["figures"]
    rows = api.get("/api/v1/assessment/district?period=2026-11", headers=login("leader1")).json()["rows"]
    assert len(rows) == 1
    rates = rows[0]["rates"]
    assert screen["closure_rate"] == pytest.approx(rates["close_rate"]) == pytest.approx(2 / 3, abs=1e-4)  # d is not yet due
    assert screen["on_time_rate"] == pytest.approx(rates["handle_on_time_rate"])


def test_the_feed_says_who_did_what_in_chinese(api, login, world, make_month):  # noqa: F811
    make_month(MON_9)
    events = api.get("/api/v1/screen/events", headers=login("leader1")).json()
    assert events
    codes = set(ACTION_NAMES) | set(ROLE_CN) | set(STAGES)
    for e in events:
        words = set(re.findall(r"\w+", e["text"], re.ASCII))
        assert not words & codes, e["text"]
        assert e["action_name"] == ACTION_NAMES[e["action"]][0] and e["action_name"] in e["text"]
        assert e["category_name"] and e["category_name"] in e["text"]
    dispatch = next(e for e in events if e["action"] == "dispatch")
    assert dispatch["text"].endswith("→ 县城管执法局") and dispatch["text"].startswith(dispatch["actor"])
    markers = api.get("/api/v1/screen/markers", headers=login("leader1")).json()
    assert markers and all(m["category_name"] and m["stage_name"] == STAGES[m["stage"]][0] for m in markers)


def test_markers_follow_the_viewport_and_cluster_when_many(api, login, world, make_month):  # noqa: F811
    make_month(MON_9)
    headers = login("leader1")
    every = api.get("/api/v1/screen/markers", headers=headers).json()
    assert every and not any(m.get("cluster") for m in every)
    lons, lats = [m["lon"] for m in every], [m["lat"] for m in every]
    box = f"{min(lons) - .01},{min(lats) - .01},{max(lons) + .01},{max(lats) + .01}"
    inside = api.get(f"/api/v1/screen/markers?bbox={box}&zoom=14", headers=headers).json()
    assert {m["id"] for m in inside} == {m["id"] for m in every}  # few enough: single markers
    away = f"{max(lons) + 1},{max(lats) + 1},{max(lons) + 2},{max(lats) + 2}"
    assert api.get(f"/api/v1/screen/markers?bbox={away}&zoom=14", headers=headers).json() == []
    many = api.get(f"/api/v1/screen/markers?bbox={box}&zoom=3&cluster_over=1", headers=headers).json()
    assert all(c["cluster"] for c in many) and sum(c["count"] for c in many) == len(every)
    r = api.get("/api/v1/screen/markers?bbox=1,2,3", headers=headers)
    assert r.status_code == 422 and r.json()["type"].endswith("bad-bbox")
    assert len(api.get("/api/v1/screen/markers?limit=1", headers=headers).json()) == 1


def test_the_trend_counts_reports_on_their_local_day(api, login, world, session, clock):
    """Hours are grouped in the database, days in Shanghai time: 23:30 and 00:30 local fall on either side of
    midnight (15:30 and 16:30 UTC), a report 31 days back is outside the 30 days."""
    from datetime import datetime, timedelta, timezone

    from cityloop.cases.models import Case

    lon, lat = world.point("341122100001001")
    ids = []
    for n in range(4):
        r = api.post("/api/v1/cases", json={"category_code": "06010", "lon": lon, "lat": lat,
                                            "description": f"垃圾 {n}"}, headers=login("operator1"))
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    at = [datetime(2026, 11, 20, 15, 30, tzinfo=timezone.utc), datetime(2026, 11, 20, 16, 30, tzinfo=timezone.utc),
          datetime(2026, 11, 20, 17, 5, 59, 999999, tzinfo=timezone.utc), clock.now() - timedelta(days=31)]
    for case_id, when in zip(ids, at):
        session.get(Case, case_id).created_at = when
    session.commit()
    trend = {t["date"]: t["reported"] for t in api.get("/api/v1/screen/summary",
                                                       headers=login("leader1")).json()["trend"]}
    assert len(trend) == 30 and min(trend) == "2026-10-25" and max(trend) == "2026-11-23"
    assert trend["2026-11-20"] == 1 and trend["2026-11-21"] == 2
    assert sum(trend.values()) == 3


def test_the_day_figures_count_the_days_events_and_the_open_cases(api, login, world, make_month, session,  # noqa: F811
                                                                   clock):
    """filed/dispatched/closed per action of the local day, open and overdue (running clocks only), as the rows say."""
    from datetime import timedelta

    from sqlalchemy import select

    from cityloop.cases.models import Case, CaseEvent
    from cityloop.cases.pages_screen import RUNNING

    make_month(MON_9)
    seen = {"filed": 0, "dispatched": 0, "closed": 0, "overdue": 0}
    for day in range(6):
        now = MON_9 + timedelta(days=day, hours=10)
        clock.set(now)
        figures = api.get("/api/v1/screen/summary", headers=login("leader1")).json()["figures"]
        start = now.replace(hour=0, minute=0)
        actions = list(session.scalars(select(CaseEvent.action).where(CaseEvent.at >= start)))
        rows = list(session.execute(select(Case.stage, Case.node_due_at)))
        expected = {"filed": actions.count("file"), "dispatched": actions.count("dispatch"),
                    "closed": actions.count("close") + actions.count("self_close"),
                    "open": sum(1 for stage, _ in rows if stage in OPEN_STAGES),
                    "overdue": sum(1 for stage, due in rows if stage in RUNNING and due is not None and due < now)}
        assert {k: figures[k] for k in expected} == expected, day
        for k in seen:
            seen[k] += expected[k]
    assert all(seen.values()), seen  # each figure was tried with something to count
