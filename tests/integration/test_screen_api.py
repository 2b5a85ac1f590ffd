"""The big screen's API: the month's 结案率 is the assessment's, the feed speaks Chinese, markers carry names."""

from __future__ import annotations

import re

import pytest

from cityloop.cases.domain import ACTION_NAMES, ROLE_CN, STAGES
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
