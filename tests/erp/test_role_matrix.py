"""Role × endpoint × method, for every endpoint the URL resolver knows.

Each app lists its own endpoints in tests/<app>/access.py as
``EXPECTED = {path: erp.access.Access(...) | PUBLIC | AUTHENTICATED}``, mirroring
API.md; this test gathers those rows for every installed app, so adding an app
never edits the kernel. An endpoint without a row fails the suite (no view ships
without a decision about who may call it), and so does a row for a gone endpoint.
"""

import importlib

import pytest
from django.apps import apps
from rest_framework.test import APIClient

from erp.access import AUTHENTICATED, PUBLIC, Access
from erp.permissions import ROLES
from tests.erp.endpoints import WRITE_METHODS, api_endpoints


def _rows_module(app_name: str):
    name = f"tests.{app_name}.access"
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and (name == exc.name or name.startswith(exc.name + ".")):
            return None  # this app has no rows (yet); an import error inside one still fails
        raise


def collect_rows() -> tuple[dict[str, Access], dict[str, str]]:
    """({path: rule}, {path: module that declared it}) from every app's tests/<app>/access.py."""
    rows, owners = {}, {}
    for app_config in apps.get_app_configs():
        module = _rows_module(app_config.name)
        if module is None:
            continue
        for path, rule in module.EXPECTED.items():
            assert path not in rows, f"{path} has rows in both {owners[path]} and {module.__name__}"
            rows[path], owners[path] = rule, module.__name__
    return rows, owners


EXPECTED, OWNERS = collect_rows()
ENDPOINTS = api_endpoints()
CASES = [(path, method) for path, methods in sorted(ENDPOINTS.items()) for method in methods]


def test_rows_come_from_every_app_with_an_access_module():
    assert {"tests.core.access", "tests.workflows.access"} <= set(OWNERS.values())


def test_every_endpoint_has_a_row_and_every_row_an_endpoint():
    assert set(ENDPOINTS) - set(EXPECTED) == set(), (
        "add the new endpoints to EXPECTED in tests/<app>/access.py"
    )
    assert set(EXPECTED) - set(ENDPOINTS) == set(), "EXPECTED names endpoints that no longer exist"


def test_rows_are_access_rules_for_one_path():
    for path, rule in EXPECTED.items():
        assert isinstance(rule, Access), f"{OWNERS[path]}: {path} must map to an erp.access.Access"
        assert not rule.actions, f"{OWNERS[path]}: a row is one path; give {path} its own read/write"


def _allowed(rule: Access, method: str, roles: frozenset[str]) -> bool:
    # The test's own reading of a row, so a bug in Access.allows cannot hide here.
    if rule in (PUBLIC, AUTHENTICATED):
        return True
    return bool(roles & (rule.write if method in WRITE_METHODS else rule.read))


@pytest.mark.django_db(databases="__all__")
@pytest.mark.parametrize(("path", "method"), CASES)
def test_anonymous_callers_get_401_except_on_public_endpoints(path, method):
    response = getattr(APIClient(), method)(path, {}, format="json")
    if EXPECTED.get(path) == PUBLIC:
        # No auth needed: a read answers, a write with an empty body reaches validation.
        assert response.status_code == (200 if method == "get" else 400), response.content
    else:
        assert response.status_code == 401, response.content


@pytest.mark.django_db(databases="__all__")
@pytest.mark.parametrize("role", [*ROLES, None])
@pytest.mark.parametrize(("path", "method"), [c for c in CASES if EXPECTED.get(c[0]) != PUBLIC])
def test_role_gets_403_exactly_when_the_rule_says_so(client_as, path, method, role):
    assert path in EXPECTED, f"no row for {path}"
    client = client_as(*([role] if role else []))
    roles = frozenset([role] if role else [])
    response = getattr(client, method)(path, {}, format="json")
    if _allowed(EXPECTED[path], method, roles):
        assert response.status_code != 403, response.content
    else:
        assert response.status_code == 403, response.content
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["detail"] == "Your role does not allow this action."
