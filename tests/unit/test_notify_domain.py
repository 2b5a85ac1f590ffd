"""Pure notification rules: quiet hours, template variables, rendering, backoff, rate window, 钉钉 signature."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from cityloop.notify import domain

SH = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize("at, start, end, until", [
    ("23:30", "22:00", "07:00", "2026-11-24 07:00"),  # spans midnight, before it
    ("06:59", "22:00", "07:00", "2026-11-23 07:00"),  # spans midnight, after it
    ("07:00", "22:00", "07:00", None),
    ("12:00", "22:00", "07:00", None),
    ("12:30", "12:00", "14:00", "2026-11-23 14:00"),
    ("09:00", None, None, None),
    ("09:00", "08:00", "08:00", None),
])
def test_quiet_until(at, start, end, until):
    now = datetime.fromisoformat(f"2026-11-23 {at}").replace(tzinfo=SH)
    got = domain.quiet_until(now, start, end, SH)
    assert (got.strftime("%Y-%m-%d %H:%M") if got else None) == until


@pytest.mark.parametrize("kind, text, unknown", [
    ("dispatched", "案件${case_number}已派遣至${department}", None),
    ("dispatched", "案件${case_no}", ["case_no"]),
    ("alarm_raised", "${subject} ${case_number}", ["case_number"]),
    ("permit_decided", "$permit ${decision}", None),
])
def test_template_variables(kind, text, unknown):
    if unknown is None:
        domain.validate_template(kind, text)
    else:
        with pytest.raises(domain.TemplateError) as err:
            domain.validate_template(kind, text)
        assert err.value.unknown == unknown and unknown[0] in err.value.zh


@pytest.mark.parametrize("kind, text", [("nope", "x"), ("dispatched", "费用 $ 5"), ("dispatched", "${unclosed")])
def test_bad_templates(kind, text):
    with pytest.raises(domain.TemplateError):
        domain.validate_template(kind, text)


def test_render_fills_missing_with_empty():
    assert domain.render("案件${case_number}：${note}", {"case_number": "A1", "note": None}) == "案件A1："


@pytest.mark.parametrize("attempt, seconds", [(1, 5), (2, 10), (3, 20), (20, 3600)])
def test_backoff(attempt, seconds):
    assert domain.backoff(attempt, 5) == timedelta(seconds=seconds)


def test_rate_window():
    w = domain.RateWindow(2, {})
    assert [w.allow("a", t) for t in (0, 1, 2)] == [True, True, False]
    assert w.allow("b", 2) and w.allow("a", 61)
    assert domain.RateWindow(0, {}).allow("a", 0)


def test_dingtalk_sign_matches_their_example_shape():
    sign = domain.dingtalk_sign("SEC000", 1700000000000)
    assert "%" in sign or sign.isalnum()  # URL-encoded base64
    assert domain.dingtalk_sign("SEC000", 1700000000000) == sign


def test_dedupe_key_fits_the_column():
    assert len(domain.dedupe_key("x" * 300, "sms", "u1")) <= 200
