"""Input fields take only what the schema promises: ISO 8601 text for times and dates, JSON booleans for flags."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from pydantic import TypeAdapter, ValidationError

from cityloop.shared.fields import Day, Flag, Instant

CASES = [
    (Instant, "2026-11-23T09:00:00+08:00", datetime(2026, 11, 23, 9, tzinfo=timezone(timedelta(hours=8)))),
    (Instant, "0.5", ValidationError),  # lax pydantic: 1970-01-01T00:00:00.5Z
    (Instant, 1764000000, ValidationError),
    (Instant, "2026-11-23T09:00:00", ValidationError),  # no offset: which zone?
    (Day, "2026-11-23", date(2026, 11, 23)),
    (Day, "0", ValidationError),  # lax pydantic: 1970-01-01
    (Day, " 20261123 ", ValidationError),
    (Day, "yesterday", ValidationError),
    (Flag, True, True),
    (Flag, False, False),
    (Flag, 0, ValidationError),
    (Flag, "true", ValidationError),
]


@pytest.mark.parametrize(("kind", "given", "expected"), CASES)
def test_input_fields(kind, given, expected):
    adapter = TypeAdapter(kind)
    if expected is ValidationError:
        with pytest.raises(ValidationError):
            adapter.validate_python(given)
    else:
        assert adapter.validate_python(given) == expected
