"""Settings refuse unsafe secrets outside demo mode; path ids are plain ASCII numbers within INTEGER range."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from cityloop.config import DEFAULT_SECRET, Settings
from cityloop.shared.ids import MAX_ID, as_id

LONG = "x" * 32


@pytest.mark.parametrize("demo, secret, ok", [
    (True, DEFAULT_SECRET, True),
    (False, DEFAULT_SECRET, False),
    (False, "short-secret", False),
    (False, LONG, True),
])
def test_secret_rules(demo, secret, ok):
    if ok:
        assert Settings(demo=demo, secret_key=secret).secret_key == secret
    else:
        with pytest.raises(ValidationError):
            Settings(demo=demo, secret_key=secret)


@pytest.mark.parametrize("value, expected", [
    ("17", 17), (17, 17), ("0", None), ("-1", None), ("²", None), ("١٢", None),
    (str(MAX_ID), MAX_ID), (str(MAX_ID + 1), None), ("99999999999999999999", None), ("LA2026112300017", None),
])
def test_as_id(value, expected):
    assert as_id(value) == expected
