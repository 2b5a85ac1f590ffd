"""The department app's deadline wording and request fingerprints (pure)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from cityloop.department_app.domain import request_fingerprint, time_words

NOW = datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("delta, zh, en", [
    (timedelta(hours=2), "剩余 2 小时", "2 h left"),
    (timedelta(hours=2, minutes=59), "剩余 2 小时", "2 h left"),
    (timedelta(minutes=25), "剩余 25 分钟", "25 min left"),
    (timedelta(days=1, hours=3), "剩余 1 天 3 小时", "1 d 3 h left"),
    (timedelta(days=2), "剩余 2 天", "2 d left"),
    (timedelta(0), "剩余 0 分钟", "0 min left"),
    (-timedelta(days=3, hours=5), "超时 3 天 5 小时", "overdue by 3 d 5 h"),
    (-timedelta(minutes=1), "超时 1 分钟", "overdue by 1 min"),
    (-timedelta(hours=7, minutes=30), "超时 7 小时", "overdue by 7 h"),
])
def test_time_words(delta, zh, en):
    assert time_words(NOW + delta, NOW) == (zh, en)


def test_no_deadline_no_words():
    assert time_words(None, NOW) is None


def test_fingerprint_covers_action_fields_photos_and_their_split():
    base = request_fingerprint("handle", {"result": "已清运", "note": None}, ["a", "b"], 1)
    assert base == request_fingerprint("handle", {"note": None, "result": "已清运"}, ["a", "b"], 1)
    assert base != request_fingerprint("handle", {"result": "已清运。"}, ["a", "b"], 1)
    assert base != request_fingerprint("handle", {"result": "已清运"}, ["a", "b"], 2)
    assert base != request_fingerprint("handle", {"result": "已清运"}, ["b", "a"], 1)
    assert base != request_fingerprint("request_return", {"result": "已清运"}, ["a", "b"], 1)
