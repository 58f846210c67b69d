"""``manage.py api_reference``: docs/api.md, the REST reference in Markdown,
generated from the OpenAPI schema (so it cannot drift from the code)."""

from django.core.management.base import BaseCommand
from drf_spectacular.generators import SchemaGenerator

_METHODS = ("get", "post", "put", "patch", "delete")


def _schema_name(content: dict | None) -> str:
    if not content:
        return ""
    media = content.get("application/json") or next(iter(content.values()), {})
    schema = media.get("schema", {})
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if schema.get("type") == "array" and "$ref" in schema.get("items", {}):
        return schema["items"]["$ref"].rsplit("/", 1)[-1] + "[]"
    return schema.get("type", "")


def _operation_row(method: str, path: str, operation: dict) -> str:
    request = _schema_name(operation.get("requestBody", {}).get("content"))
    answers = ", ".join(
        f"{status} {_schema_name(response.get('content'))}".strip()
        for status, response in sorted(operation.get("responses", {}).items())
    )
    summary = operation.get("summary", "").replace("|", "\\|")
    return f"| `{method.upper()}` | `{path}` | {summary} | {request or '–'} | {answers} |"


def reference(schema: dict) -> str:
    by_tag: dict[str, list[str]] = {}
    for path, item in sorted(schema["paths"].items()):
        for method in _METHODS:
            operation = item.get(method)
            if operation is not None:
                tag = (operation.get("tags") or ["other"])[0]
                by_tag.setdefault(tag, []).append(_operation_row(method, path, operation))
    lines = [
        "# REST API reference",
        "",
        "Generated from the OpenAPI schema by `manage.py api_reference > docs/api.md`; a test fails",
        "when it is out of date. The live schema is at `/api/schema/` (Swagger UI `/api/docs/`,",
        "ReDoc `/api/redoc/`); the conventions every endpoint shares (auth, errors, idempotency,",
        "pagination) are in [architecture.md](architecture.md#rest-conventions).",
        "",
    ]
    for tag in sorted(by_tag):
        lines += [
            f"## {tag}",
            "",
            "| method | path | what | request | responses |",
            "|---|---|---|---|---|",
            *by_tag[tag],
            "",
        ]
    schemas = schema.get("components", {}).get("schemas", {})
    lines += ["## Schemas", ""]
    for name in sorted(schemas):
        properties = schemas[name].get("properties", {})
        required = set(schemas[name].get("required", []))
        fields = ", ".join(f"`{f}`" + ("" if f in required else "?") for f in properties)
        lines.append(f"- **{name}**: {fields or schemas[name].get('type', '')}")
    return "\n".join(lines) + "\n"


class Command(BaseCommand):
    help = "Print the REST API reference (Markdown) generated from the OpenAPI schema."

    def handle(self, *args, **options):
        schema = SchemaGenerator(api_version="v1").get_schema(request=None, public=True)
        self.stdout.write(reference(schema), ending="")
