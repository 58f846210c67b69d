import pytest
from django.db import connection
from rest_framework.test import APIClient

from tests.core.factories import UserFactory
from tests.workflows import sample  # noqa: F401 - test-only workflow definitions

PASSWORD = "Correct-Horse-9"


@pytest.fixture(scope="session", autouse=True)
def _real_database(django_db_blocker):
    # The suite proves behaviour on PostgreSQL (locks, constraints); SQLite would
    # silently pass things production would not. `make test` sets this up.
    with django_db_blocker.unblock():
        assert connection.vendor == "postgresql", "run the tests with `make test` (PostgreSQL)"


@pytest.fixture(autouse=True)
def _fresh_cache():
    # Throttle counters and other cached state must not leak between tests.
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def make_user(db):
    def make(*roles, **fields):
        return UserFactory(roles=list(roles), **fields)

    return make


def token_for(user, password: str = PASSWORD) -> str:
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": user.username, "password": password}, format="json"
    )
    assert response.status_code == 200, response.content
    return response.json()["access"]


@pytest.fixture
def client_as(make_user):
    """An APIClient authenticated with a real JWT for a new user with ``roles``."""

    def make(*roles, **fields):
        user = make_user(*roles, **fields)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(user)}")
        client.user = user
        return client

    return make


@pytest.fixture
def admin_api(client_as):
    return client_as("admin")
