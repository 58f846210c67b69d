"""Hostile input to every operation in the schema, as an attacker or a careless
client sends it: deep nesting, lone surrogates, NUL bytes, numbers JSON cannot
hold, objects with thousands of members, 1 MB and 20 MB bodies, invalid UTF-8,
wrong content types, malformed path parameters and absurd query parameters.

The operations come from the schema generator (the URL resolver), so a new
endpoint is covered without editing this file. Each answer must be a 4xx
problem+json (a 5xx is a bug, whatever the input), and what is refused must
leave every database as it was.
"""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from django.db import connections
from drf_spectacular.generators import SchemaGenerator

from tests.conftest import token_for
from tests.estoque.factories import ProductFactory, WarehouseFactory

pytestmark = pytest.mark.django_db(databases="__all__")

METHODS = ("get", "post", "put", "patch", "delete")
# The schema, as the resolver gives it (no database touched at collection).
SCHEMA = SchemaGenerator().get_schema(request=None, public=True)
OPERATIONS = [
    (path, method) for path, item in SCHEMA["paths"].items() for method in METHODS if method in item
]
# Writes that take a body (one that takes none, e.g. log out everywhere, never reads it).
WITH_BODY = [
    (path, method)
    for path, method in OPERATIONS
    if method in ("post", "put", "patch") and "requestBody" in SCHEMA["paths"][path][method]
]
SOME_UUID = "3f2b8c4e-6a1d-4e5f-9b7a-2c8d0e1f4a6b"


def _nested(depth: int) -> str:
    return '{"name":' + "[" * depth + "]" * depth + "}"


def _many_members(count: int) -> str:
    return json.dumps({f"field{n}": n for n in range(count)})


# (name, body bytes, content type): every one of these must be refused (4xx).
REFUSED_BODIES = [
    ("nested_1100_levels", _nested(1100).encode(), "application/json"),
    ("nested_40_levels", _nested(40).encode(), "application/json"),
    (
        "lone_surrogate_value",
        b'{"name": "\\udfff", "username": "\\ud800x", "sku": "\\udfff"}',
        "application/json",
    ),
    ("lone_surrogate_key", b'{"\\udfff": 1}', "application/json"),
    ("number_1e309", b'{"quantity": 1e309, "name": 1e309}', "application/json"),
    ("nan", b'{"quantity": NaN}', "application/json"),
    ("infinity", b'{"quantity": -Infinity}', "application/json"),
    ("integer_of_5000_digits", b'{"quantity": 1' + b"0" * 5000 + b"}", "application/json"),
    ("five_thousand_members", _many_members(5000).encode(), "application/json"),
    ("twenty_megabytes", b'{"name": "' + b"x" * 20_000_000 + b'"}', "application/json"),
    ("invalid_utf8", b'{"name": "\xff\xfe\xc3"}', "application/json"),
    ("truncated_json", b'{"name": ', "application/json"),
    ("plain_text", b"name=x", "text/plain"),
    ("xml", b"<name>x</name>", "application/xml"),
    ("broken_multipart", b"--x\r\nContent-Disposition: form-data\r\n\r\n", "multipart/form-data; boundary=x"),
]
# Valid JSON a careless client may send: any answer but a 5xx.
ODD_BODIES = [
    ("negative_zero", b'{"quantity": -0, "name": -0, "username": -0, "password": -0}', "application/json"),
    ("json_array", b"[1, 2, 3]", "application/json"),
    ("json_string", b'"hello"', "application/json"),
    ("null", b"null", "application/json"),
]
MALFORMED_PATH_VALUES = [
    "not-a-uuid",
    "%00",
    "1%27%20OR%20%271%27%3D%271",
    "9" * 400,
    "%ED%B3%BF",
    "..%2F..%2F",
]
ABSURD_QUERIES = [
    "page=-1",
    "page=99999999999999999999999",
    "page_size=1000000000",
    "ordering=__no_such_field",
    "ordering=-password",
    "search=%00",
    "search=" + "x" * 5000,
    "search=%ED%A0%80",
    "limit=1e309&offset=-0",
    "created_after=not-a-date&updated_before=%00",
]


def concrete(path: str, value: str = SOME_UUID) -> str:
    """The path with each {parameter} replaced by ``value``."""
    parts = path.split("/")
    return "/".join(value if part.startswith("{") and part.endswith("}") else part for part in parts)


def path_parameters(path: str) -> int:
    return sum(1 for part in path.split("/") if part.startswith("{"))


def declared_query_parameters(path: str, method: str) -> list[str]:
    operation = SCHEMA["paths"][path][method]
    return [p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"]


def body_fields(path: str, method: str) -> list[str]:
    """The JSON request body's properties, as the schema documents them."""
    content = SCHEMA["paths"][path][method].get("requestBody", {}).get("content", {})
    schema = content.get("application/json", {}).get("schema", {})
    if "$ref" in schema:
        schema = SCHEMA["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return list(schema.get("properties", {}))


def database_state() -> dict:
    """A checksum of every table on every database: any row written, changed
    or removed shows."""
    state = {}
    for alias in connections:
        connection = connections[alias]
        with connection.cursor() as cursor:
            for table in connection.introspection.table_names(cursor):
                name = connection.ops.quote_name(table)
                cursor.execute(
                    f"SELECT count(*), md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) FROM {name} t"  # noqa: S608
                )
                state[(alias, table)] = cursor.fetchone()
    return state


@pytest.fixture
def admin_client(make_user):
    """An admin (every operation lets it through to its input), with a record
    of each kind for the item paths to find."""
    from django.test import Client

    token = token_for(make_user("admin"))
    WarehouseFactory()
    ProductFactory()
    return Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Bearer {token}")


def existing(client, path: str) -> str:
    """The path of a record that exists, when its collection lists one: the
    body reaches the parser, not just a 404."""
    if path_parameters(path) != 1 or not path.endswith("}/"):
        return concrete(path)
    collection, parameter = path.rsplit("/{", 1)
    listed = client.get(collection + "/")
    if listed.status_code != 200:
        return concrete(path)
    body = listed.json()
    items = body.get("results", []) if isinstance(body, dict) else body
    key = parameter.rstrip("}/")
    found = next((item[key] for item in items if isinstance(item, dict) and key in item), None)
    return concrete(path, str(found)) if found is not None else concrete(path)


def call(client, method: str, path: str, body: bytes = b"", content_type: str = "application/json"):
    return client.generic(method.upper(), path, body, content_type=content_type)


def assert_refused(response, what: str) -> None:
    assert 400 <= response.status_code < 500, f"{what}: {response.status_code} {response.content[:300]!r}"
    assert response["Content-Type"] == "application/problem+json", f"{what}: {response['Content-Type']}"
    assert json.loads(response.content)["status"] == response.status_code, what


def assert_no_server_error(response, what: str) -> None:
    assert response.status_code < 500, f"{what}: {response.status_code} {response.content[:300]!r}"
    if response.status_code >= 400:
        assert response["Content-Type"] == "application/problem+json", f"{what}: {response['Content-Type']}"


@pytest.mark.parametrize(("path", "method"), WITH_BODY, ids=[f"{m.upper()} {p}" for p, m in WITH_BODY])
def test_every_hostile_body_is_refused_and_changes_nothing(admin_client, path, method):
    url = existing(admin_client, path)
    fields = body_fields(path, method) or ["name"]
    in_every_field = [
        ("one_megabyte_in_every_field", json.dumps(dict.fromkeys(fields, "x" * 1_000_000)).encode()),
        ("nul_in_every_field", json.dumps(dict.fromkeys(fields, "a\x00b")).encode()),
    ]
    before = database_state()
    for name, body, content_type in [
        *REFUSED_BODIES,
        *((n, b, "application/json") for n, b in in_every_field),
    ]:
        assert_refused(call(admin_client, method, url, body, content_type), name)
    assert database_state() == before
    for name, body, content_type in ODD_BODIES:
        assert_no_server_error(call(admin_client, method, url, body, content_type), name)


PARAMETERISED = [(path, method) for path, method in OPERATIONS if path_parameters(path)]


@pytest.mark.parametrize(
    ("path", "method"), PARAMETERISED, ids=[f"{m.upper()} {p}" for p, m in PARAMETERISED]
)
def test_a_malformed_path_parameter_is_a_client_error(admin_client, path, method):
    before = database_state()
    for value in MALFORMED_PATH_VALUES:
        response = call(admin_client, method, concrete(path, value), b"{}")
        assert_refused(response, f"{path} with {value}")
    assert database_state() == before


READS = [(path, method) for path, method in OPERATIONS if method == "get"]


@pytest.mark.parametrize(("path", "method"), READS, ids=[f"GET {p}" for p, _m in READS])
def test_absurd_query_parameters_get_no_server_error(admin_client, path, method):
    url = existing(admin_client, path)
    queries = ABSURD_QUERIES + [
        f"{quote(name)}={value}"
        for name in declared_query_parameters(path, method)
        for value in ("%00", "x" * 3000, "1e309", "-0", "%ED%A0%80", "[]", "{}")
    ]
    before = database_state()
    for query in queries:
        assert_no_server_error(call(admin_client, "get", f"{url}?{query}"), query[:80])
    assert database_state() == before


def test_the_suite_covers_every_operation_of_the_schema():
    """Generated from the schema: the auth, core and estoque operations at least."""
    paths = {path for path, _method in OPERATIONS}
    assert {"/api/v1/auth/token/", "/api/v1/core/users/{id}/"} <= paths
    assert any(path.startswith("/api/v1/estoque/") for path in paths)
    assert len(WITH_BODY) >= 10
