"""One source of configuration: the rendered manifests follow config/env.py (the
variables settings read) and deploy/*.py, and deploy/rendered/ is up to date."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys

import pytest

from config.env import VARIABLES, Var
from deploy import config, manifests, render
from deploy.environments import ENVIRONMENTS
from tests.deploy.conftest import (
    RENDERED,
    ROOT,
    configmap,
    documents,
    find,
    generated,
    kustomize,
    oldest_kubectl,
    pod_templates,
)


def _tree(directory) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()
    }


def test_rendered_output_is_up_to_date(tmp_path):
    tags = {name: render.current_tag(name) for name in ENVIRONMENTS}
    render.render(tmp_path, list(ENVIRONMENTS), tags)
    fresh, committed = _tree(tmp_path), _tree(RENDERED)
    assert sorted(fresh) == sorted(committed), (
        "files differ: run `python -m deploy.render` and commit deploy/rendered/"
    )
    stale = [name for name in fresh if fresh[name] != committed[name]]
    assert not stale, (
        f"stale rendered files {stale}: run `python -m deploy.render` and commit deploy/rendered/"
    )


def test_the_command_renders_one_environment(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "deploy.render", "--env", "staging", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "base" / "kustomization.yaml").is_file()
    assert sorted(p.name for p in (tmp_path / "overlays").iterdir()) == ["staging"]
    assert (tmp_path / "argocd" / "apps" / "erp-staging.yaml").is_file()
    assert not (tmp_path / "argocd" / "apps" / "erp-production.yaml").exists()


@pytest.mark.parametrize("env_name", sorted(ENVIRONMENTS))
def test_configmap_holds_every_variable_settings_read_and_no_secret(built, env_name):
    env = ENVIRONMENTS[env_name]
    data = configmap(built[env_name])
    plain = {var.name for var in VARIABLES if not var.secret}
    provided = {var.name for var in VARIABLES if var.secret and var.name not in env.unused_secrets}
    assert set(data) == plain | {f"{name}_FILE" for name in provided}
    for var in VARIABLES:
        if var.secret:
            assert var.name not in data, f"{var.name} is secret: only {var.name}_FILE may be in the ConfigMap"
    for name in provided:
        assert data[f"{name}_FILE"] == f"{config.SECRETS_DIR}/{config.secret_file(name)}"
    # Every secret is accounted for: provided, or unused with a reason.
    assert {v.name for v in VARIABLES if v.secret} == provided | set(env.unused_secrets)
    assert all(env.unused_secrets.values())


@pytest.mark.parametrize("env_name", sorted(ENVIRONMENTS))
def test_every_workload_reads_the_configmap(built, env_name):
    objects = built[env_name]
    main = generated(objects, config.CONFIGMAP_NAME)
    migrate = generated(objects, config.MIGRATE_CONFIGMAP_NAME)
    assert len(find(objects, "ConfigMap")) == 2
    # The migration's own copy (a PreSync hook) holds exactly the workloads' values.
    assert migrate["data"] == main["data"]
    for name, template in pod_templates(objects).items():
        expected = migrate if name == "erp-migrate" else main
        for container in template["spec"]["containers"]:
            refs = [s["configMapRef"]["name"] for s in container.get("envFrom", [])]
            assert refs == [expected["metadata"]["name"]], f"{name}/{container['name']}"
            names = {e["name"] for e in container.get("env", [])}
            assert not names & {v.name for v in VARIABLES}, "settings variables come from the ConfigMap only"


def test_secrets_never_appear_in_rendered_files():
    credential = re.compile(r"\w+://[^/\s:@]+:[^/\s@]+@")  # user:password@ in a URL
    for path in RENDERED.rglob("*"):
        if path.is_file():
            text = path.read_text()
            assert not credential.search(text), f"{path} holds a credential"
            assert "kind: Secret\n" not in text, f"{path} defines a Secret: they are created out of Git"


def test_a_variable_added_to_settings_reaches_every_environment(monkeypatch):
    extra_plain = Var("NEW_LIMIT", "int", "7", "A new knob.")
    extra_secret = Var("PAYMENT_API_KEY", "str", "", "A new credential.", secret=True)
    monkeypatch.setattr(config, "VARIABLES", (*VARIABLES, extra_plain, extra_secret))
    for env in ENVIRONMENTS.values():
        data = config.env_config(env)
        assert data["NEW_LIMIT"] == "7"
        assert data["PAYMENT_API_KEY_FILE"] == f"{config.SECRETS_DIR}/payment-api-key"
        assert "PAYMENT_API_KEY" not in data
        patch = manifests.overlay_patches(env)["web-deployment.yaml"]
        if env.secrets_from == "vault":
            assert (
                "vault.hashicorp.com/agent-inject-secret-payment-api-key"
                in patch.spec.template.metadata.annotations
            )
        else:
            keys = [item.key for item in patch.spec.template.spec.volumes[0].secret.items]
            assert "payment-api-key" in keys


def test_an_environment_cannot_name_a_variable_settings_do_not_read():
    env = ENVIRONMENTS["staging"]
    with pytest.raises(config.ConfigurationError, match="not a variable settings read"):
        config.overlay_config(dataclasses.replace(env, config={"ALLOWD_HOSTS": "x"}))
    with pytest.raises(config.ConfigurationError, match="is secret"):
        config.overlay_config(dataclasses.replace(env, config={"SECRET_KEY": "x"}))
    with pytest.raises(config.ConfigurationError, match="undeclared secrets"):
        config.secrets(dataclasses.replace(env, unused_secrets={"OLD_TOKEN": "gone"}))


def test_configuration_table_lists_every_variable():
    table = (RENDERED / "CONFIGURATION.md").read_text()
    for var in VARIABLES:
        assert f"| `{var.name}` |" in table


@pytest.mark.parametrize("env_name", list(ENVIRONMENTS))
def test_overlays_build_alike_with_the_oldest_supported_kubectl(env_name):
    """Debian's kubectl 1.20 (kustomize v2.0.3, what a fresh machine installs)
    builds the same objects as the kubectl on PATH: nothing in the rendered
    kustomizations needs a newer kustomize."""
    overlay = RENDERED / "overlays" / env_name
    # Only the generated ConfigMap's hash suffix may differ: each kustomize hashes its own way.
    suffix = re.compile(rf"\b{config.CONFIGMAP_NAME}-[a-z0-9]{{10}}\b")

    def build(binary: str | None) -> dict:
        objects = documents(suffix.sub(f"{config.CONFIGMAP_NAME}-HASH", kustomize(overlay, binary)))
        return {(o["kind"], o["metadata"]["name"]): o for o in objects}

    assert build(oldest_kubectl()) == build(None)
