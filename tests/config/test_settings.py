"""Configuration as code: each test starts a fresh interpreter with a controlled
environment, since settings are read once at start-up."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from config import env

ROOT = Path(__file__).resolve().parents[2]
PROD_SECRET = "prod-like-" + "k3y-Z" * 12
PRODUCTION_LIKE = {
    "SECRET_KEY": PROD_SECRET,
    "ALLOWED_HOSTS": "erp.example.com",
    "DATABASE_URL": os.environ.get("DATABASE_URL", "sqlite:///db.sqlite3"),
    "CACHE_URL": "redis://127.0.0.1:6379/1",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
    "USE_X_FORWARDED_PROTO": "true",
}


def run(code: str, **variables) -> subprocess.CompletedProcess:
    """Run ``code`` after Django set-up with exactly ``variables`` in the environment."""
    # DOTENV_PATH empty: a developer's .env (written by `make run`) must not leak in.
    clean = {"PATH": os.environ["PATH"], "DJANGO_SETTINGS_MODULE": "config.settings", "DOTENV_PATH": ""}
    script = f"import django\ndjango.setup()\nfrom django.conf import settings\n{code}"
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**clean, **variables},
        capture_output=True,
        text=True,
        timeout=120,
    )


def manage(*args, **variables) -> subprocess.CompletedProcess:
    clean = {"PATH": os.environ["PATH"], "DOTENV_PATH": ""}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **variables},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_debug_is_off_unless_set():
    result = run("print(settings.DEBUG)", SECRET_KEY=PROD_SECRET)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_secret_key_is_required_when_debug_is_off():
    result = run("print('started')")
    assert result.returncode != 0
    assert "SECRET_KEY is required" in result.stderr


def test_debug_on_works_without_any_variable():
    result = run("print(settings.DEBUG, settings.DATABASES['default']['ENGINE'])", DEBUG="true")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "django_prometheus.db.backends.sqlite3"]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DEBUG", "maybe"),
        ("DB_CONN_MAX_AGE", "sixty"),
        ("JWT_ACCESS_MINUTES", "-5"),
        ("THROTTLE_USER_RATE", "fast"),
        ("LOG_FORMAT", "xml"),
        ("DATABASE_URL", "nosuchdb://user:hunter2@host/db"),
    ],
)
def test_a_malformed_value_stops_start_up_naming_the_variable(name, value):
    result = run("print('started')", **{"DEBUG": "true", name: value})
    assert result.returncode != 0
    assert f"{name} is malformed" in result.stderr
    assert "hunter2" not in result.stderr  # secrets are never echoed


def test_secrets_can_come_from_files(tmp_path):
    (tmp_path / "secret_key").write_text(PROD_SECRET + "\n")
    (tmp_path / "db_url").write_text("sqlite:////tmp/from-file.sqlite3\n")
    result = run(
        "print(settings.SECRET_KEY); print(settings.DATABASES['default']['NAME'])",
        SECRET_KEY_FILE=str(tmp_path / "secret_key"),
        DATABASE_URL_FILE=str(tmp_path / "db_url"),
        SECRET_KEY="ignored-when-a-file-is-given",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [PROD_SECRET, "/tmp/from-file.sqlite3"]


def test_an_unreadable_secret_file_names_the_variable(tmp_path):
    result = run("print('started')", SECRET_KEY_FILE=str(tmp_path / "missing"))
    assert result.returncode != 0
    assert "SECRET_KEY_FILE" in result.stderr


def test_environment_values_reach_the_settings():
    code = (
        "print(settings.REST_FRAMEWORK['DEFAULT_THROTTLE_RATES']['user'], settings.AXES_FAILURE_LIMIT,"
        " settings.CELERY_TASK_ALWAYS_EAGER, settings.CACHES['default']['BACKEND'])"
    )
    result = run(
        code,
        DEBUG="true",
        THROTTLE_USER_RATE="7/minute",
        LOGIN_FAILURE_LIMIT="3",
        CELERY_BROKER_URL="redis://127.0.0.1:6379/0",
        CACHE_URL="redis://127.0.0.1:6379/1",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["7/minute", "3", "False", "erp.cache.RedisCache"]


def test_check_deploy_is_clean_with_production_like_variables():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION_LIKE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_deploy_fails_on_a_development_configuration():
    result = manage("check", "--deploy", "--fail-level", "WARNING", DEBUG="true")
    assert result.returncode != 0


RECORD_READS = r"""
import os, sys, json, traceback
PROJECT = {"config", "erp", "core", "workflows", "estoque", "financeiro", "vendas"}
ROOT = os.getcwd()
reads = set()

def ours(frame_file):
    rel = os.path.relpath(frame_file, ROOT)
    return rel.split(os.sep)[0] in PROJECT

PLUMBING = ("/environ/", "os.py", "<frozen os>", "_collections_abc")

def direct_caller():
    for frame in reversed(traceback.extract_stack()[:-2]):
        if not any(part in frame.filename for part in PLUMBING):
            return frame.filename
    return ""

class Recording(type(os.environ)):
    def __getitem__(self, key):
        if ours(direct_caller()):
            reads.add(key)
        return super().__getitem__(key)

os.environ.__class__ = Recording
import django
django.setup()
import config.urls  # noqa
print(json.dumps(sorted(reads)))
"""


def test_settings_read_only_declared_variables():
    result = subprocess.run(
        [sys.executable, "-c", RECORD_READS],
        cwd=ROOT,
        env={
            "PATH": os.environ["PATH"],
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DOTENV_PATH": "",
            **PRODUCTION_LIKE,
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    import json

    read = set(json.loads(result.stdout.strip().splitlines()[-1]))
    declared = {var.name for var in env.VARIABLES}
    allowed = declared | {f"{name}_FILE" for name in declared} | {"DJANGO_SETTINGS_MODULE"}
    assert read, "recording saw no read at all"
    assert read - allowed == set(), "declare these in config/env.py (and so in the README)"


def test_readme_configuration_table_lists_every_variable():
    readme = (ROOT / "README.md").read_text()
    listed = set(re.findall(r"^\| `([A-Z0-9_]+)` \|", readme, flags=re.MULTILINE))
    assert listed == {var.name for var in env.VARIABLES}
    assert env.markdown_table() in readme, "regenerate with: python -m config.env --markdown"


def test_env_example_is_generated_from_the_declaration():
    assert (ROOT / ".env.example").read_text() == env.dotenv_example(), "run: make env-docs"
