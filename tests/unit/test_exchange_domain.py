"""Pure exchange rules: signatures, freshness, backoff, per-case placement, the ranking's composite."""

from __future__ import annotations

import pytest

from cityloop.exchange.domain import backoff_seconds, event_id, fresh, place, sign, signature_ok
from cityloop.exchange.ranking import composite, figures


def test_a_signature_covers_platform_timestamp_and_body():
    sig = sign("k", "341122", 1_700_000_000, b'{"a":1}')
    assert signature_ok("k", "341122", 1_700_000_000, b'{"a":1}', sig)
    for key, platform, ts, body in (("x", "341122", 1_700_000_000, b'{"a":1}'), ("k", "341100", 1_700_000_000,
                                    b'{"a":1}'), ("k", "341122", 1_700_000_001, b'{"a":1}'),
                                    ("k", "341122", 1_700_000_000, b'{"a":2}')):
        assert not signature_ok(key, platform, ts, body, sig)
    assert not signature_ok("k", "341122", 1_700_000_000, b"{}", "")


@pytest.mark.parametrize("ts, now, ok", [(1000, 1000, True), (1000, 1300, True), (1000, 1301, False),
                                         (1301, 1000, False)])
def test_freshness(ts, now, ok):
    assert fresh(ts, now, 300) is ok


@pytest.mark.parametrize("attempts, jitter, expected", [(0, 1.0, 1.0), (1, 1.0, 1.0), (3, 1.0, 4.0), (3, 0.0, 2.0),
                                                        (12, 1.0, 300.0), (99, 0.5, 225.0)])
def test_backoff(attempts, jitter, expected):
    assert backoff_seconds(attempts, jitter, 300) == expected


@pytest.mark.parametrize("last, seq, prev, known, verdict", [
    (None, 1, None, False, "apply"),  # a new case
    (None, 4, None, False, "apply"),  # a case older than the link: its first event in the outbox
    (3, 4, 3, False, "apply"),
    (3, 3, 2, True, "duplicate"),
    (3, 5, 4, False, "park"),  # the gap 4 is missing
    (None, 2, 1, False, "park"),  # the case's first event has not arrived
    (3, 2, 1, False, "park"),  # stale
])
def test_placement(last, seq, prev, known, verdict):
    assert place(last, seq, prev, known).verdict == verdict


def test_event_ids_are_stable():
    assert event_id("341122", 17, 3) == "341122:c17:3"


class C:
    def __init__(self, stage, overdue=False, rework=0):
        self.stage, self.overdue, self.rework_count = stage, overdue, rework


def test_composite_of_a_month():
    f = figures([C("closed"), C("closed", overdue=True), C("closed", rework=1), C("dispatched"), C("void")])
    assert (f["valid"], f["closed"], f["closed_on_time"], f["reworked"]) == (4, 3, 2, 1)
    assert composite(f) == round(0.4 * 75 + 0.4 * 50 + 0.2 * (100 - 100 / 3), 2)
    assert composite(figures([])) is None
