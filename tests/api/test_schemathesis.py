"""Property-based fuzzing of the whole API from its own OpenAPI schema (schemathesis), against
the app served by a real uvicorn on loopback, with a token holding every scope: whatever the
schema allows (and much it does not), no request gets a 5xx. The number of examples per
operation is bounded so the test command stays quick (SCHEMATHESIS_EXAMPLES overrides it)."""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from tests.api.conftest import TOKENS

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "12"))


@pytest.fixture
def api_schema(api_world):
    api = api_world(
        # Nothing leaves loopback: addresses are looked up at a nameserver that is not there,
        # quickly; long lists become jobs.
        dns={"nameservers": ["127.0.0.1:9"]},
        verify={"required": False, "timeout_seconds": 0.2},
        api={"validate_inline_max": 3, "rate_limit_per_minute": 1_000_000},
    )
    return schemathesis.openapi.from_url(f"{api.url}/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_request_gets_a_server_error(case):
    response = case.call(headers={"Authorization": f"Bearer {TOKENS['admin'][1]}"}, timeout=30)
    case.validate_response(response, checks=[not_a_server_error])
