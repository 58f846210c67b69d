"""``kubernetes-validate --strict`` for the rendered manifests, with the vendored
schemas of custom resources (deploy/schemas/) and with a missing schema counted
as an error, not a warning. kustomization.yaml files are checked against a
strict hand-written schema (deploy/schemas/README.md).

    python -m deploy.validate deploy/rendered/base/*.yaml ...
    kubectl kustomize deploy/rendered/overlays/production | python -m deploy.validate -

Built-in kinds go to ``kubernetes_validate.validate(..., strict=True)`` unchanged,
for each Kubernetes version in ``KUBERNETES_VERSIONS``; a kind with a schema in
deploy/schemas/ is checked against it, with the same validator and Kubernetes'
own definitions (ObjectMeta) of the latest version.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import jsonschema
import kubernetes_validate
import yaml
from kubernetes_validate import utils
from referencing import Registry, Resource

SCHEMAS = Path(__file__).resolve().parent / "schemas"
# The oldest Kubernetes the manifests must still apply to, and the newest known.
KUBERNETES_VERSIONS = ("1.30", utils.latest_version())


def schema_name(resource: dict) -> str:
    """kubernetes-validate's file name for a kind: application-argoproj-v1alpha1.json."""
    api_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", resource["apiVersion"])
    return f"{resource['kind'].lower()}-{api_version}.json"


def _vendored(path: Path, resource: dict) -> list[str]:
    version = utils.latest_version()
    definitions = utils.schema_contents(
        f"kubernetes-json-schema/v{version}-local-strict/_definitions.json", version
    )
    registry = Resource.from_contents(definitions) @ Registry()
    validator = jsonschema.Draft202012Validator(json.loads(path.read_text()), registry=registry)
    return [
        f"{'.'.join(str(p) for p in error.path) or '<root>'}: {error.message}"
        for error in sorted(validator.iter_errors(resource), key=lambda e: list(map(str, e.path)))
    ]


def validate_resource(resource: dict) -> list[str]:
    """Messages for what is wrong with ``resource`` (empty: valid)."""
    if not isinstance(resource, dict) or "apiVersion" not in resource or "kind" not in resource:
        return ["not a Kubernetes object (no apiVersion/kind)"]
    vendored = SCHEMAS / schema_name(resource)
    if vendored.is_file():
        return _vendored(vendored, resource)
    errors = []
    for version in KUBERNETES_VERSIONS:
        try:
            kubernetes_validate.validate(resource, version, strict=True)
        except utils.ValidationError as exc:
            path = ".".join(str(item) for item in exc.path) or "<root>"
            errors.append(f"Kubernetes {version}: {path}: {exc.message}")
        except utils.SchemaNotFoundError as exc:
            errors.append(f"{exc.message} (no schema is an error here: vendor one in deploy/schemas/)")
    return errors


def validate_text(text: str, source: str) -> list[str]:
    problems = []
    for document in yaml.safe_load_all(text):
        if not document:
            continue
        name = f"{document.get('kind')}/{(document.get('metadata') or {}).get('name')}"
        problems += [f"{source}: {name}: {message}" for message in validate_resource(document)]
    return problems


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: python -m deploy.validate FILE... | -", file=sys.stderr)
        return 2
    problems = []
    for name in argv:
        text = sys.stdin.read() if name == "-" else Path(name).read_text()
        problems += validate_text(text, name)
    for problem in problems:
        print(f"ERROR {problem}")
    if not problems:
        print(f"validate: {len(argv)} file(s) valid (strict; Kubernetes {', '.join(KUBERNETES_VERSIONS)})")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
