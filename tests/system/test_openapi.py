import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from openapi_spec_validator import validate

ROOT = Path(__file__).resolve().parents[2]
WRITE_METHODS = {"post", "put", "patch"}
# Writes that take no body at all (the action is the whole request); none today
# (cancel takes an optional reason).
# Writes that take no body: the access token says everything.
BODYLESS: set[str] = {
    "POST /api/v1/auth/logout/everywhere/",
    "POST /api/v1/financeiro/periods/{id}/close/",
    "POST /api/v1/vendas/orders/{id}/confirm/",
    "POST /api/v1/vendas/orders/{id}/ship/",
}


@pytest.fixture(scope="module")
def schema():
    result = subprocess.run(
        [sys.executable, "manage.py", "spectacular", "--validate", "--fail-on-warn"],
        cwd=ROOT,
        env=os.environ,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr  # warnings fail too (--fail-on-warn)
    return yaml.safe_load(result.stdout)


def operations(schema):
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


def test_schema_is_valid_openapi_3(schema):
    assert schema["openapi"].startswith("3.")
    validate(schema)


def test_every_success_response_has_a_typed_body(schema):
    untyped = []
    for path, method, operation in operations(schema):
        for status, response in operation["responses"].items():
            if status.startswith("2") and status not in ("204", "205"):
                content = response.get("content", {})
                if not any("schema" in media for media in content.values()):
                    untyped.append(f"{method.upper()} {path} {status}")
    assert untyped == []


def test_every_write_has_a_typed_request_body(schema):
    missing = [
        f"{method.upper()} {path}"
        for path, method, operation in operations(schema)
        if method in WRITE_METHODS
        and "schema" not in operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    ]
    assert set(missing) == BODYLESS


def test_errors_are_documented_as_problem_json(schema):
    for path, method, operation in operations(schema):
        responses = operation["responses"]
        assert "429" in responses, f"{method} {path}"
        if method == "post":
            assert {"409", "422"} <= set(responses)
            assert any(p["name"] == "Idempotency-Key" for p in operation["parameters"])
        assert "application/problem+json" in responses["401"]["content"]


def test_every_operation_has_a_summary(schema):
    missing = [
        f"{method.upper()} {path}"
        for path, method, operation in operations(schema)
        if not operation.get("summary")
    ]
    assert missing == []


def _resolve(schema, node: dict) -> dict:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def _properties(schema, node: dict, seen: frozenset = frozenset()):
    """Every (name, property schema) of a request body schema, nested ones included."""
    ref = node.get("$ref")
    if ref in seen:
        return
    node = _resolve(schema, node)
    seen = seen | {ref}
    for part in node.get("allOf", []) + node.get("oneOf", []) + node.get("anyOf", []):
        yield from _properties(schema, part, seen)
    for name, prop in node.get("properties", {}).items():
        yield name, _resolve(schema, prop)
        yield from _properties(schema, prop, seen)
    if "items" in node:
        yield from _properties(schema, node["items"], seen)


def test_no_request_body_types_an_input_object_as_a_string(schema):
    # A workflow's input is a JSON object; typed as a string, clients would send "{...}".
    stringly = [
        f"{method.upper()} {path}"
        for path, method, operation in operations(schema)
        for media in operation.get("requestBody", {}).get("content", {}).values()
        for name, prop in _properties(schema, media.get("schema", {}))
        if name == "input" and prop.get("type") == "string"
    ]
    assert stringly == []
