"""12345 工单 rules: the webhook signature, the field and category mapping, deadlines, what goes back, backoff."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from cityloop.workorders import domain

NOW = datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc)
SECRET = "s3cret"
BODY = '{"工单编号": "GD1"}'.encode()


def test_signature_is_hmac_sha256_over_timestamp_dot_body():
    import hashlib
    import hmac

    stamp = str(int(NOW.timestamp()))
    expected = hmac.new(b"s3cret", stamp.encode() + b"." + BODY, hashlib.sha256).hexdigest()
    assert domain.sign(SECRET, stamp, BODY) == f"sha256={expected}"


@pytest.mark.parametrize("stamp, signature, body, code", [
    (None, "x", BODY, "signature-missing"),
    ("1", None, BODY, "signature-missing"),
    ("soon", "sha256=00", BODY, "bad-timestamp"),
    ("OK", "sha256=" + "0" * 64, BODY, "bad-signature"),
    ("OK", "SIGNED", BODY + b" ", "bad-signature"),  # signed a different body
    ("OLD", "SIGNED", BODY, "stale-timestamp"),
    ("LATE", "SIGNED", BODY, "stale-timestamp"),
    ("OK", "SIGNED", BODY, None),
    ("EDGE", "SIGNED", BODY, None),  # exactly at the allowed skew
])
def test_check_signature(stamp, signature, body, code):
    at = {"OK": NOW, "OLD": NOW - timedelta(seconds=301), "LATE": NOW + timedelta(seconds=301),
          "EDGE": NOW - timedelta(seconds=300)}
    if stamp in at:
        stamp = str(int(at[stamp].timestamp()))
    if signature == "SIGNED":
        signature = domain.sign(SECRET, stamp, BODY)
    if code is None:
        domain.check_signature(SECRET, stamp, signature, body, NOW, 300)
        return
    with pytest.raises(domain.SignatureError) as exc:
        domain.check_signature(SECRET, stamp, signature, body, NOW, 300)
    assert exc.value.code == code and exc.value.zh and exc.value.en


def test_mapping_file_lays_its_fields_and_categories_over_the_defaults():
    m = domain.merged_mapping({"fields": {"gdbh": "number", "sqnr": "description"}, "categories": {"市容": "06010"}})
    raw = {"gdbh": " A-1 ", "sqnr": "垃圾", "诉求地址": "北门小区", "办理时限": "", "extra": "ignored", "联系人": {"x": 1}}
    got = domain.apply_mapping(m, raw)
    assert got == {"number": "A-1", "description": "垃圾", "address": "北门小区", "contact": None, "phone": None,
                   "deadline": None, "category": None}
    assert domain.category_code(m, "市容") == "06010"
    assert domain.category_code(m, "暴露垃圾") == "06010"  # a default entry still holds
    assert domain.category_code(m, "09006") == "09006"  # our own code passes through (checked against the catalog later)
    assert domain.category_code(m, None) is None
    with pytest.raises(ValueError, match="unknown target fields"):
        domain.merged_mapping({"fields": {"x": "nonsense"}})


@pytest.mark.parametrize("text, expected", [
    (None, None), ("", None),
    ("2026-11-25 18:00:00", datetime(2026, 11, 25, 10, 0, tzinfo=timezone.utc)),
    ("2026/11/25 18:00", datetime(2026, 11, 25, 10, 0, tzinfo=timezone.utc)),
    ("2026-11-25T18:00:00+08:00", datetime(2026, 11, 25, 10, 0, tzinfo=timezone.utc)),
    ("2026-11-25T10:00:00Z", datetime(2026, 11, 25, 10, 0, tzinfo=timezone.utc)),
])
def test_parse_deadline(text, expected):
    assert domain.parse_deadline(text, "Asia/Shanghai") == expected


@pytest.mark.parametrize("text", ["下周一", "25/11/2026", "2026-13-01"])
def test_parse_deadline_refuses_what_is_not_a_time(text):
    with pytest.raises(ValueError):
        domain.parse_deadline(text, "Asia/Shanghai")


@pytest.mark.parametrize("action, from_stage, to_stage, kind", [
    ("report", None, "reported", None),
    ("accept", "reported", "accepted", "accept"),
    ("accept", "reported", "verifying", "accept"),
    ("file", "accepted", "filed", "progress"),
    ("dispatch", "filed", "dispatched", "progress"),
    ("handle", "dispatched", "handled", "progress"),
    ("check_fail", "handled", "dispatched", "progress"),
    ("close", "checked", "closed", "result"),
    ("rate", "closed", "closed", "callback"),
    ("reject", "reported", "rejected", "return"),
    ("void", "filed", "void", "progress"),
    ("annotate", "filed", "filed", None),
    ("supervise", "dispatched", "dispatched", None),
    ("request_extension", "dispatched", "dispatched", None),
])
def test_which_case_events_go_back_as_what(action, from_stage, to_stage, kind):
    assert domain.message_kind(action, from_stage, to_stage) == kind


@pytest.mark.parametrize("attempts, seconds", [(1, 10), (2, 20), (3, 40), (8, 1280), (9, 2000), (50, 2000)])
def test_backoff_doubles_up_to_the_cap(attempts, seconds):
    assert domain.backoff(attempts, 10, 2000) == timedelta(seconds=seconds)


def test_a_placeholder_shared_secret_is_refused_outside_demo_mode():
    from cityloop.config import Settings

    key = "k" * 40 + "-real-signing-key"
    with pytest.raises(ValueError, match="CITYLOOP_WORKORDER_SECRET"):
        Settings(secret_key=key, workorder_secret="change-me")
    assert Settings(secret_key=key, workorder_secret="q8Zr-12345-shared").workorder_secret.get_secret_value()
