"""Role × endpoint × method, for every endpoint the URL resolver knows.

EXPECTED mirrors API.md's "roles that write" columns. An endpoint missing here
fails the suite, so no view ships without a decision about who may call it.
"""

import pytest
from rest_framework.test import APIClient

from erp.permissions import ROLES
from tests.erp.endpoints import SAMPLE_ID, WRITE_METHODS, api_endpoints

PUBLIC = "public"
ANY_AUTHENTICATED = "any authenticated user"
EVERY_ROLE = frozenset(ROLES)
# Workflows: anyone but a viewer starts, answers (then the step's own roles decide) and cancels.
OPERATORS = {"admin", "sales", "warehouse", "finance", "manager"}

# path -> (roles that read, roles that write); PUBLIC needs no token at all.
EXPECTED = {
    "/api/v1/auth/token/": PUBLIC,
    "/api/v1/auth/token/refresh/": PUBLIC,
    "/api/v1/auth/logout/": PUBLIC,
    "/api/v1/auth/me/": ANY_AUTHENTICATED,
    "/api/v1/core/company/": (EVERY_ROLE, {"admin"}),
    "/api/v1/core/users/": ({"admin"}, {"admin"}),
    f"/api/v1/core/users/{SAMPLE_ID}/": ({"admin"}, {"admin"}),
    "/api/v1/workflows/definitions/": (EVERY_ROLE, set()),
    "/api/v1/workflows/": (EVERY_ROLE, OPERATORS),
    f"/api/v1/workflows/{SAMPLE_ID}/": (EVERY_ROLE, OPERATORS),
    f"/api/v1/workflows/{SAMPLE_ID}/continue/": (EVERY_ROLE, OPERATORS),
    f"/api/v1/workflows/{SAMPLE_ID}/cancel/": (EVERY_ROLE, OPERATORS),
    f"/api/v1/workflows/{SAMPLE_ID}/history/": (EVERY_ROLE, OPERATORS),
}

ENDPOINTS = api_endpoints()
CASES = [(path, method) for path, methods in sorted(ENDPOINTS.items()) for method in methods]


def test_every_endpoint_has_an_access_rule():
    assert set(ENDPOINTS) - set(EXPECTED) == set(), "add the new endpoints to EXPECTED"
    assert set(EXPECTED) - set(ENDPOINTS) == set(), "EXPECTED names endpoints that no longer exist"


def _allowed(rule, method: str, roles: frozenset[str]) -> bool:
    if rule in (PUBLIC, ANY_AUTHENTICATED):
        return True
    read, write = rule
    return bool(roles & (write if method in WRITE_METHODS else read))


@pytest.mark.django_db(databases="__all__")
@pytest.mark.parametrize(("path", "method"), CASES)
def test_anonymous_callers_get_401_except_on_public_endpoints(path, method):
    response = getattr(APIClient(), method)(path, {}, format="json")
    if EXPECTED[path] == PUBLIC:
        assert response.status_code == 400, response.content  # reached validation: no auth needed
    else:
        assert response.status_code == 401, response.content


@pytest.mark.django_db(databases="__all__")
@pytest.mark.parametrize("role", [*ROLES, None])
@pytest.mark.parametrize(("path", "method"), [c for c in CASES if EXPECTED[c[0]] != PUBLIC])
def test_role_gets_403_exactly_when_the_rule_says_so(client_as, path, method, role):
    client = client_as(*([role] if role else []))
    roles = frozenset([role] if role else [])
    response = getattr(client, method)(path, {}, format="json")
    if _allowed(EXPECTED[path], method, roles):
        assert response.status_code != 403, response.content
    else:
        assert response.status_code == 403, response.content
        assert response["Content-Type"] == "application/problem+json"
