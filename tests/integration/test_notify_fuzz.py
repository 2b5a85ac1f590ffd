"""schemathesis over the notification routes alone (test_api_fuzz.py covers the whole API more thinly)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from tests.integration.test_api_fuzz import CONFORMANCE


@pytest.fixture
def notify_schema(app, world):
    return schemathesis.openapi.from_asgi("/openapi.json", app)


schema = schemathesis.pytest.from_fixture("notify_schema").include(path_regex=r"^/api/v1/notif")


@pytest.mark.slow
@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_the_notification_api_keeps_its_contract(case, login):
    case.call_and_validate(headers=login("admin"), checks=CONFORMANCE)
