"""The dependency rule of ARCHITECTURE.md, checked on every run."""

import ast
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings

from config import domain_apps
from config.domain_apps import DOMAIN_APPS, KERNEL, SPLITTABLE_APPS
from config.env import BY_NAME

ROOT = Path(__file__).resolve().parents[2]
OUR_APPS = (KERNEL, *DOMAIN_APPS)


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


def test_the_contracts_are_the_ones_the_list_of_apps_generates():
    """import-linter cannot say "all but contract", so the contracts are generated
    from config/domain_apps.py and the app directories; a new module or app needs
    `python -m config.domain_apps importlinter --write`."""
    generated = tomllib.loads(domain_apps.importlinter_toml())["tool"]["importlinter"]
    committed = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    assert committed == generated, "run: .venv/bin/python -m config.domain_apps importlinter --write"


@pytest.mark.parametrize("app", DOMAIN_APPS)
def test_every_module_but_contract_is_protected(app):
    private = next(
        c for c in contracts() if c["type"] == "protected" and c["name"].startswith(f"{app} is private")
    )
    modules = {p.stem if p.is_file() else p.name for p in (ROOT / app).iterdir() if _is_module(p)}
    assert set(private["protected_modules"]) == {f"{app}.{m}" for m in modules - {"contract"}}
    forbidden = next(c for c in contracts() if c["type"] == "forbidden")
    assert f"{app}.contract" in forbidden["source_modules"]


def _is_module(path: Path) -> bool:
    return (path.suffix == ".py" and path.stem != "__init__") or (path / "__init__.py").exists()


def test_contracts_may_import_exactly_erp_errors_of_the_kernel():
    forbidden = next(c for c in contracts() if c["type"] == "forbidden")
    kernel = {
        f"{KERNEL}.{p.stem if p.is_file() else p.name}" for p in (ROOT / KERNEL).iterdir() if _is_module(p)
    }
    assert kernel - set(forbidden["forbidden_modules"]) == {"erp.errors"}


def test_everything_that_names_the_apps_reads_the_one_list():
    assert [a for a in settings.INSTALLED_APPS if a in OUR_APPS] == list(OUR_APPS)
    declared = {
        name.removesuffix("_DATABASE_URL").lower() for name in BY_NAME if name.endswith("_DATABASE_URL")
    }
    assert declared == set(SPLITTABLE_APPS)
    assert frozenset(SPLITTABLE_APPS) == settings.ERP_SPLITTABLE_APPS
    script = (ROOT / "scripts" / "test.sh").read_text()
    assert "config.domain_apps splittable" in script
    for app in SPLITTABLE_APPS:  # no hand-written list of apps left in the script
        assert f" {app} " not in script


def _bare_atomic_uses(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        attribute = (
            isinstance(node, ast.Attribute)
            and node.attr == "atomic"
            and isinstance(node.value, ast.Name)
            and node.value.id == "transaction"
        )
        imported = (
            isinstance(node, ast.ImportFrom)
            and node.module == "django.db.transaction"
            and any(alias.name == "atomic" for alias in node.names)
        )
        if attribute or imported:
            found.append(f"{path}:{node.lineno}")
    return found


def test_domain_apps_open_transactions_only_through_erp_db_atomic():
    """A bare transaction.atomic() opens on `default` whatever the app's database
    is: with split databases the app's writes would run outside it."""
    uses = [
        use
        for app in DOMAIN_APPS
        for path in sorted((ROOT / app).rglob("*.py"))
        if "migrations" not in path.parts
        for use in _bare_atomic_uses(path)
    ]
    assert uses == [], "use erp.db.atomic('<app>') instead"


def test_the_bare_atomic_finder_finds_both_spellings(tmp_path):
    sample = tmp_path / "services.py"
    sample.write_text(
        "from django.db import transaction\nfrom django.db.transaction import atomic\n\n\n"
        "@transaction.atomic\ndef f():\n    pass\n"
    )
    assert len(_bare_atomic_uses(sample)) == 2


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
