"""Shared fixtures of the deploy checks: they read rendered files and run kubectl
and kubernetes-validate; no database, cache or broker is opened."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from deploy import config
from deploy.environments import ENVIRONMENTS

ROOT = Path(__file__).resolve().parents[2]
RENDERED = ROOT / "deploy" / "rendered"


@pytest.fixture(scope="session", autouse=True)
def _real_database():
    """Replaces the suite's PostgreSQL guard (tests/conftest.py): nothing here opens a database."""


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Replaces the suite's cache reset: nothing here uses the cache."""


# The oldest kubectl the overlays must build with (Debian's, kustomize v2.0.3), which
# deploy/ensure-tools.sh unpacks there.
OLDEST_KUBECTL = ROOT / ".venv" / "kubectl-debian" / "usr" / "bin" / "kubectl"


def kubectl() -> str:
    found = shutil.which("kubectl")
    if not found:
        pytest.fail("kubectl not found on PATH: run deploy/ensure-tools.sh (scripts/test.sh does)")
    return found


def oldest_kubectl() -> str:
    if not OLDEST_KUBECTL.is_file():
        pytest.fail(f"{OLDEST_KUBECTL} missing: run deploy/ensure-tools.sh (scripts/test.sh does)")
    return str(OLDEST_KUBECTL)


def kustomize(directory: Path, binary: str | None = None) -> str:
    result = subprocess.run(
        [binary or kubectl(), "kustomize", str(directory)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, f"kubectl kustomize {directory} failed:\n{result.stderr}"
    return result.stdout


def documents(text: str) -> list[dict]:
    return [document for document in yaml.safe_load_all(text) if document]


@pytest.fixture(scope="session")
def built() -> dict[str, list[dict]]:
    """Environment name -> the objects `kubectl kustomize` builds from its committed overlay."""
    return {name: documents(kustomize(RENDERED / "overlays" / name)) for name in ENVIRONMENTS}


def find(objects: list[dict], kind: str, name: str | None = None) -> list[dict]:
    return [o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]


def one(objects: list[dict], kind: str, name: str) -> dict:
    (found,) = find(objects, kind, name)
    return found


def pod_templates(objects: list[dict]) -> dict[str, dict]:
    """Workload name -> its pod template (Deployments and Jobs)."""
    return {
        o["metadata"]["name"]: o["spec"]["template"] for o in objects if o["kind"] in ("Deployment", "Job")
    }


def generated(objects: list[dict], name: str) -> dict:
    """The ConfigMap kustomize generated as ``name`` (its name may carry a hash suffix)."""
    (cm,) = [
        o
        for o in find(objects, "ConfigMap")
        if o["metadata"]["name"] == name or o["metadata"]["name"].rpartition("-")[0] == name
    ]
    return cm


def configmap(objects: list[dict]) -> dict[str, str]:
    """The data of the ConfigMap web, worker and beat read."""
    return generated(objects, config.CONFIGMAP_NAME)["data"]
