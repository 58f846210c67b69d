"""drf-spectacular post-processing: the conventions every endpoint shares
(problem+json errors, Idempotency-Key) documented once, on every operation."""

PROBLEM = {
    "type": "object",
    "description": "RFC 9457 problem details.",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string"},
    },
    "required": ["type", "title", "status", "detail"],
}
VALIDATION_PROBLEM = {
    "allOf": [
        {"$ref": "#/components/schemas/Problem"},
        {
            "type": "object",
            "properties": {
                "errors": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "field": {"type": "string", "nullable": True},
                            "code": {"type": "string"},
                            "message": {"type": "string"},
                        },
                        "required": ["field", "code", "message"],
                    },
                }
            },
        },
    ]
}
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Replays the stored response of an earlier POST with the same key and body "
    "(24 h, per user); another body → 422; still in flight → 409.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
}
_DESCRIPTIONS = {
    "400": "Malformed or invalid input",
    "401": "No or bad token",
    "403": "Your role may not do this",
    "404": "Unknown id",
    "409": "The current state forbids it",
    "422": "Idempotency-Key reused with another body",
    "429": "Throttled",
}
WRITE_METHODS = {"post", "put", "patch", "delete"}


def _problem(code: str, schema: str = "Problem") -> dict:
    return {
        "description": _DESCRIPTIONS[code],
        "content": {"application/problem+json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


def _error_codes(path: str, method: str, operation: dict) -> list[str]:
    codes = ["401", "429"]  # a bad token or bad credentials are a 401 anywhere
    if operation.get("requestBody") or operation.get("parameters"):
        codes.append("400")
    if {"jwtAuth": []} in operation.get("security", []):
        codes.append("403")
    if "{" in path:
        codes.append("404")
    if method in WRITE_METHODS:
        codes.append("409")
    if method == "post":
        codes.append("422")
    return codes


def add_conventions(result, generator, request, public):
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = PROBLEM
    schemas["ValidationProblem"] = VALIDATION_PROBLEM
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            for code in _error_codes(path, method, operation):
                schema = "ValidationProblem" if code == "400" else "Problem"
                responses.setdefault(code, _problem(code, schema))
            if method == "post":
                operation.setdefault("parameters", []).append(IDEMPOTENCY_KEY)
    return result
