"""Schemathesis against the live OpenAPI schema, in process, with every check (as
`schemathesis run --checks all`): no 5xx; every answer (errors included) has a documented status,
content type and shape; for the REST API, a request the schema allows is not refused, and one it
forbids is.

A bounded number of generated requests per operation keeps this under a minute; the examples
are derandomized so that a failure reproduces.
"""

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from icdsite.wsgi import application

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_rate_limits")]

EXAMPLES_PER_OPERATION = 30
# FHIR operations take alternatives (code, or coding, or codeableConcept; a version, a date or
# neither) that OpenAPI cannot state, and FHIR clients read the CapabilityStatement, not this
# schema: their answers are held to the schema, their inputs are not.
RESPONSE_CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


# Loaded at collection (the schema view needs no database); requests run inside each test.
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)


@pytest.fixture(autouse=True)
def keep_the_test_connection():
    """The WSGI app would close the test's connection after each request (it is inside the
    test's transaction); Django's test client stops that the same way."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_every_answer_matches_the_schema(case):
    if case.operation.path.startswith("/fhir/"):
        case.call_and_validate(checks=RESPONSE_CHECKS)
    else:
        case.call_and_validate()  # every check, as `schemathesis run --checks all`
