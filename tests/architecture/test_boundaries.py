"""The dependency rule of ARCHITECTURE.md, checked on every run."""

import os
import pkgutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from django.apps import apps

ROOT = Path(__file__).resolve().parents[2]
OUR_APPS = ("erp", "core", "workflows", "estoque", "financeiro", "vendas")
DOMAIN_APPS = ("core", "workflows", "estoque", "financeiro", "vendas")


def contracts() -> list[dict]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]


def test_import_linter_contracts_hold():
    lint_imports = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(lint_imports)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_contracts_use_no_ignore_imports():
    assert all("ignore_imports" not in contract for contract in contracts())


def test_the_layers_are_the_ones_architecture_md_names():
    layers = next(c for c in contracts() if c["type"] == "layers")
    assert layers["layers"] == ["config", "vendas", "financeiro", "estoque", "workflows", "core", "erp"]


@pytest.mark.parametrize("app", DOMAIN_APPS)
def test_every_module_but_contract_is_protected(app):
    """import-linter cannot say "all but contract", so the lists must keep up."""
    modules = {f"{app}.{m.name}" for m in pkgutil.iter_modules([str(ROOT / app)])} - {f"{app}.contract"}
    private = next(
        c for c in contracts() if c["type"] == "protected" and c["name"].startswith(f"{app} is private")
    )
    assert set(private["protected_modules"]) == modules
    forbidden = next(c for c in contracts() if c["type"] == "forbidden")
    assert f"{app}.contract" in forbidden["source_modules"]
    assert modules <= set(forbidden["forbidden_modules"])


def test_no_model_relates_across_app_labels():
    crossing = []
    for model in apps.get_models():
        label = model._meta.app_label
        if label not in OUR_APPS:
            continue
        for field in model._meta.get_fields():
            related = getattr(field, "related_model", None)
            if related is None or (not field.concrete and not field.many_to_many):
                continue
            if related._meta.app_label in OUR_APPS and related._meta.app_label != label:
                crossing.append(f"{model._meta.label}.{field.name} -> {related._meta.label}")
    assert crossing == [], "reference other apps by id, not by ForeignKey"


def test_ruff_is_clean():
    ruff = Path(sys.executable).parent / "ruff"
    check = subprocess.run([str(ruff), "check", "."], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert check.returncode == 0, check.stdout
    fmt = subprocess.run([str(ruff), "format", "--check", "."], cwd=ROOT, capture_output=True, text=True)
    assert fmt.returncode == 0, fmt.stdout


def test_migrations_are_checked_in():
    result = subprocess.run(
        [sys.executable, "manage.py", "makemigrations", "--check", "--dry-run"],
        cwd=ROOT,
        env=os.environ,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
