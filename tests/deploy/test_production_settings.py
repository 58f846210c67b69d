"""The environment an overlay gives the web container is one Django accepts for
production: `check --deploy --fail-level WARNING` passes on it. The secret files
the Secret or the Vault agent would mount are written with test values."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from deploy import config
from deploy.environments import ENVIRONMENTS
from tests.deploy.conftest import ROOT, configmap, pod_templates

SECRET_VALUES = {
    "SECRET_KEY": "deploy-test-" + "Zq8-v3R_k" * 8,
    "DATABASE_URL": os.environ.get("DATABASE_URL") or "postgres://erp:erp@127.0.0.1:5432/erp",
    "CACHE_URL": "redis://127.0.0.1:6379/1",
    "CELERY_BROKER_URL": "amqp://erp:erp@127.0.0.1:5672/erp",
}


def container_environment(objects, tmp_path) -> dict[str, str]:
    """What the web container would see: the ConfigMap, its own env, and the secret
    files (moved under tmp_path, with test values)."""
    (web,) = pod_templates(objects)["erp-web"]["spec"]["containers"]
    environment = {**configmap(objects), **{e["name"]: e["value"] for e in web.get("env", [])}}
    for name, value in list(environment.items()):
        if name.endswith("_FILE") and value.startswith(config.SECRETS_DIR + "/"):
            secret = name.removesuffix("_FILE")
            assert secret in SECRET_VALUES, f"no test value for {secret}"
            path = tmp_path / value.removeprefix(config.SECRETS_DIR + "/")
            path.write_text(SECRET_VALUES[secret] + "\n")  # as mounted files often end
            environment[name] = str(path)
    return environment


def check_deploy(environment: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], **environment},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("env_name", sorted(ENVIRONMENTS))
def test_the_overlay_environment_passes_django_deploy_checks(built, env_name, tmp_path):
    environment = container_environment(built[env_name], tmp_path)
    assert environment["DEBUG"] == "false"
    assert not {"SECRET_KEY", "DATABASE_URL"} & set(environment), "secrets arrive as files only"
    result = check_deploy(environment)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_check_catches_a_weakened_production_environment(built, tmp_path):
    environment = container_environment(built["production"], tmp_path)
    result = check_deploy({**environment, "SECURE_HSTS_SECONDS": "0"})
    assert result.returncode != 0 and "security.W004" in result.stdout + result.stderr
