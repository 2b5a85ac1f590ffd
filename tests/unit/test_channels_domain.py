"""Pure rules of the channels, table-driven."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from cityloop.channels import domain as d

T0 = datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc)


def test_tracking_codes_are_readable_and_normalized():
    code = d.new_tracking_code()
    assert len(code) == 8 and set(code) <= set(d.CODE_ALPHABET) and not set(code) & set("01OIL")
    assert d.normalize_code(f" {code[:4].lower()}-{code[4:]} ") == code


@pytest.mark.parametrize("text, expected", [("ABCD2345", "ABCD2345"), ("abcd 2345", "ABCD2345"), ("ABCD234", None),
                                            ("ABCD0345", None), ("", None), ("../../et", None)])
def test_normalize_code(text, expected):
    assert d.normalize_code(text) == expected


@pytest.mark.parametrize("phone, expected", [
    ("13800138000", "13800138000"), ("138 0013 8000", "13800138000"), ("+86 138-0013-8000", "13800138000"),
    ("0550-5012345", "05505012345"), ("12345", None), ("12800138000", None), ("abc", None), ("", None)])
def test_normalize_phone(phone, expected):
    assert d.normalize_phone(phone) == expected


@pytest.mark.parametrize("text, honeypot, reasons", [
    ("路边垃圾很多", None, []), ("看 http://x.cn", None, ["links-or-markup"]), ("<script>alert(1)</script>", None,
                                                                               ["links-or-markup"]),
    ("正常\x00描述", None, ["control-characters"]), ("正常描述", "http://bot", ["honeypot"]),
    ("啊" * 30, None, ["repeated-characters"]), ("多行\n描述\t可以", None, [])])
def test_spam_reasons(text, honeypot, reasons):
    assert d.spam_reasons(text, honeypot) == reasons


MATTERS = [("06010", "暴露垃圾"), ("09006", "占道经营"), ("09009", "机动车乱停放"), ("01001", "供水井盖异常")]


@pytest.mark.parametrize("text, code", [("门口暴露垃圾没人清", "06010"), ("有人占道经营卖菜", "09006"),
                                        ("小区门口机动车乱停放", "09009"), ("井盖异常有危险", "01001"), ("天气不错", None)])
def test_guess_category(text, code):
    assert d.guess_category(text, MATTERS) == code


def test_distance_and_box():
    assert d.haversine_m(118.43, 32.45, 118.43, 32.45) == 0
    assert d.haversine_m(118.43, 32.45, 118.431, 32.45) == pytest.approx(93.9, abs=0.5)
    dlon, dlat = d.degrees_around(32.45, 100)
    assert d.haversine_m(118.43, 32.45, 118.43 + dlon, 32.45) == pytest.approx(100, rel=0.01)
    assert d.track_length_m([(118.43, 32.45), (118.431, 32.45), (118.431, 32.451)]) == pytest.approx(205, abs=2)


@pytest.mark.parametrize("stage, status", [("reported", "open"), ("dispatched", "open"), ("suspended", "open"),
                                           ("closed", "closed"), ("merged", "closed"), ("void", "closed")])
def test_open311_status(stage, status):
    assert d.open311_status(stage) == status


def test_public_steps_hide_internal_actions():
    events = [("report", T0), ("annotate", T0), ("accept", T0), ("supervise", T0), ("auto_supervise", T0),
              ("request_extension", T0), ("dispatch", T0)]
    assert [s[0] for s in d.public_steps(events)] == ["report", "accept", "dispatch"]


@pytest.mark.parametrize("last, minutes, is_open, repeat", [
    (T0, 30, True, True), (T0, 200, True, False), (T0, 30, False, False), (None, 0, True, False),
    (T0, -30, True, True)])
def test_video_repeat(last, minutes, is_open, repeat):
    assert d.is_repeat(last, T0 + timedelta(minutes=minutes), 120, is_open) == repeat


@pytest.mark.parametrize("exif_time, point, flags", [
    (T0 - timedelta(minutes=5), (118.43, 32.45), []),
    (None, None, ["no-exif-position", "no-exif-time"]),
    (T0 - timedelta(days=3), (118.43, 32.45), ["taken-long-before"]),
    (T0 + timedelta(hours=1), (118.43, 32.45), ["taken-after-upload"]),
    (T0, (118.50, 32.45), ["far-from-report"]),
])
def test_evidence_flags(exif_time, point, flags):
    got, distance, gap = d.evidence_flags(exif_time, point, T0, (118.43, 32.45), 500, 24)
    assert got == flags
    assert (distance is None) == (point is None) and (gap is None) == (exif_time is None)


def test_hamming_and_rating_rules():
    assert d.hamming("ffff0000ffff0000", "ffff0000ffff0001") == 1
    assert d.can_rate("closed", False) and not d.can_rate("closed", True) and not d.can_rate("handled", False)
    assert d.video_needs_verification(0.5, 0.8) and not d.video_needs_verification(0.8, 0.8)
