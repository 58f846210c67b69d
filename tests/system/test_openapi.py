import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from openapi_spec_validator import validate

ROOT = Path(__file__).resolve().parents[2]
WRITE_METHODS = {"post", "put", "patch"}
# Writes that take no body at all (the action is the whole request).
BODYLESS = {"POST /api/v1/workflows/{thread_id}/cancel/"}


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
