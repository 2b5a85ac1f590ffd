"""schemathesis over /openapi.json with a bounded number of examples: no input makes the API answer 5xx, every
answer matches the documented status codes, content types and schemas, and input the schema forbids is refused.
(GeoReport v2 answers in its own error format and is checked against its own specification in
test_open311_schemathesis.py.)"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

FUZZ_EXAMPLES = 12
CONFORMANCE = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
               negative_data_rejection, ignored_auth]


@pytest.fixture
def api_schema(app, world):
    return schemathesis.openapi.from_asgi("/openapi.json", app)


schema = schemathesis.pytest.from_fixture("api_schema")


def _checks(case) -> list:
    return [not_a_server_error] if case.path.startswith("/open311/") else CONFORMANCE


@schema.parametrize()
@settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_the_api_keeps_its_contract_as_admin(case, login):
    case.call_and_validate(headers=login("admin"), checks=_checks(case))


@schema.parametrize()
@settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_the_api_keeps_its_contract_as_department(case, login):
    case.call_and_validate(headers=login("d01"), checks=_checks(case))
