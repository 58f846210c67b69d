"""Every rendered file and every overlay's build passes strict schema validation:
kubernetes-validate --strict for built-in kinds, the vendored schemas for Argo CD
and kustomize files; a missing schema fails."""

from __future__ import annotations

import copy
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from deploy import validate
from deploy.environments import ENVIRONMENTS
from tests.deploy.conftest import RENDERED, one

RENDERED_FILES = sorted(RENDERED.rglob("*.yaml"))
BUILTIN_FILES = [p for p in RENDERED_FILES if p.name != "kustomization.yaml" and "argocd" not in p.parts]


def _kubernetes_validate() -> str:
    beside = Path(sys.executable).parent / "kubernetes-validate"
    found = str(beside) if beside.is_file() else shutil.which("kubernetes-validate")
    if not found:
        pytest.fail("kubernetes-validate not found: install the dev (or deploy) extra")
    return found


def test_kubernetes_validate_strict_passes_without_a_warning(built, tmp_path):
    builds = []
    for name, objects in built.items():
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump_all(objects))
        builds.append(path)
    files = [*BUILTIN_FILES, *builds]
    assert len(BUILTIN_FILES) > 10
    for version in validate.KUBERNETES_VERSIONS:
        result = subprocess.run(
            [_kubernetes_validate(), "--strict", "--quiet", "-k", version, *map(str, files)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        # --quiet prints only warnings (e.g. no schema) and errors: either fails.
        assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


def test_every_rendered_file_and_build_validates_with_the_vendored_schemas(built):
    assert any("argocd" in p.parts for p in RENDERED_FILES)
    problems = []
    for path in RENDERED_FILES:
        problems += validate.validate_text(path.read_text(), str(path.relative_to(RENDERED)))
    for name, objects in built.items():
        problems += validate.validate_text(yaml.safe_dump_all(objects), f"build of {name}")
    assert not problems, "\n".join(problems)


def test_the_app_of_apps_points_at_every_overlay():
    root = yaml.safe_load((RENDERED / "argocd" / "root.yaml").read_text())
    assert root["spec"]["source"]["path"] == "deploy/rendered/argocd/apps"
    apps = {p.stem: yaml.safe_load(p.read_text()) for p in (RENDERED / "argocd" / "apps").glob("*.yaml")}
    assert set(apps) == {f"erp-{name}" for name in ENVIRONMENTS}
    for name, env in ENVIRONMENTS.items():
        app = apps[f"erp-{name}"]
        assert app["spec"]["source"]["path"] == f"deploy/rendered/overlays/{name}"
        assert (RENDERED / "overlays" / name / "kustomization.yaml").is_file()
        assert app["spec"]["destination"]["namespace"] == env.namespace


def test_validation_rejects_unknown_fields_and_unknown_kinds(built):
    deployment = copy.deepcopy(one(built["staging"], "Deployment", "erp-web"))
    deployment["spec"]["template"]["spec"]["containers"][0]["livenessProbes"] = {}
    assert any("livenessProbes" in p for p in validate.validate_resource(deployment))

    app = yaml.safe_load((RENDERED / "argocd" / "apps" / "erp-staging.yaml").read_text())
    app["spec"]["syncPolicy"]["automatic"] = {"prune": True}
    assert any("automatic" in p for p in validate.validate_resource(app))
    app = yaml.safe_load((RENDERED / "argocd" / "apps" / "erp-staging.yaml").read_text())
    app["metadata"]["labelz"] = {}
    assert validate.validate_resource(app), "metadata is checked strictly too"

    kustomization = yaml.safe_load((RENDERED / "overlays" / "staging" / "kustomization.yaml").read_text())
    kustomization["patches"] = []  # kubectl 1.20's kustomize does not know it
    assert validate.validate_resource(kustomization)
    kustomization = yaml.safe_load((RENDERED / "base" / "kustomization.yaml").read_text())
    kustomization["configMapGenerator"][0]["options"] = {
        "disableNameSuffixHash": True
    }  # nor per-generator options
    assert any("options" in p for p in validate.validate_resource(kustomization))

    unknown = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    assert any("no schema is an error" in p for p in validate.validate_resource(unknown))
