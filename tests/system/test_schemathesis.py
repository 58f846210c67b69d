"""Property-based fuzzing of every documented operation: whatever a client
sends, the answer is never a 5xx. Grows with every endpoint the schema gains."""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from config.wsgi import application
from tests.conftest import token_for

# Loading the schema touches no database, so it is safe at collection time.
schema = schemathesis.openapi.from_wsgi("/api/schema/", application)


@pytest.fixture
def admin_token(make_user):
    # Committed transactions: a request that fails mid-way cannot poison the next one.
    return token_for(make_user("admin"))


@pytest.mark.django_db(transaction=True, databases="__all__")  # every app's database, split or not
@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_no_generated_request_gets_a_server_error(case, admin_token):
    case.call_and_validate(headers={"Authorization": f"Bearer {admin_token}"}, checks=[not_a_server_error])
