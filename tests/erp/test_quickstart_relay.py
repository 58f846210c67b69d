"""The relay on the quick start's embedded default (SQLite, Celery eager), which
takes the portable ORM paths instead of PostgreSQL's single statements and, with
no beat, retries failed deliveries from a thread of its own (erp/sweeper.py)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from config.env import VARIABLES

PROJECT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 300


def _quickstart_env(database: Path, **variables: str) -> dict[str, str]:
    """The quick start's settings (the defaults: SQLite, no broker), whatever the
    suite's environment or a developer's .env say."""
    env = {k: v for k, v in os.environ.items() if k not in {var.name for var in VARIABLES}}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DOTENV_PATH="",
        DATABASE_URL=f"sqlite:///{database}",
        SECRET_KEY="quickstart-relay-test-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        PYTHONPATH=str(PROJECT),
        **variables,
    )
    return env


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )


@pytest.fixture(scope="module")
def migrated(tmp_path_factory) -> Path:
    database = tmp_path_factory.mktemp("quickstart") / "migrated.sqlite3"
    migrate = _run(_quickstart_env(database), "manage.py", "migrate", "--noinput")
    assert migrate.returncode == 0, migrate.stderr
    return database


@pytest.fixture
def database(migrated, tmp_path) -> Path:
    """A freshly migrated quick-start database of this test's own."""
    return Path(shutil.copy(migrated, tmp_path / "quickstart.sqlite3"))


def _check(env: dict[str, str], module: str, *args: str, expect: str) -> None:
    check = _run(env, "-m", module, *args)
    assert check.returncode == 0, check.stdout + check.stderr
    assert expect in check.stdout


def test_events_are_delivered_once_on_sqlite_with_eager_celery(database):
    _check(_quickstart_env(database), "tests.erp.sqlite_relay_check", expect="quickstart relay ok")


# Retries within a second or two instead of EVENTS_SWEEP_SECONDS=5 and a 2 s first backoff.
FAST_SWEEP = {"EVENTS_SWEEP_SECONDS": "1", "EVENTS_RETRY_BASE_SECONDS": "1"}


def test_a_failed_delivery_is_retried_by_the_quick_starts_own_sweeper(database):
    """No beat: the publishing process's sweeper thread retries it, once, even
    while a slow request holds SQLite's one write lock."""
    env = _quickstart_env(database, EVENTS_EMBEDDED_SWEEP="true", **FAST_SWEEP)
    _check(env, "tests.erp.sqlite_sweeper_check", "retry", expect="quickstart sweeper retry ok")


def test_deliveries_left_failed_are_retried_after_the_first_request_of_the_next_run(database):
    """EVENTS_EMBEDDED_SWEEP=false starts no sweeper, so the failed delivery is
    left; the next process (the next `make run`) retries it once it serves."""
    off = _quickstart_env(database, EVENTS_EMBEDDED_SWEEP="false", **FAST_SWEEP)
    _check(off, "tests.erp.sqlite_sweeper_check", "disabled", expect="quickstart sweeper disabled ok")
    on = _quickstart_env(database, EVENTS_EMBEDDED_SWEEP="true", **FAST_SWEEP)
    _check(on, "tests.erp.sqlite_sweeper_check", "restart", expect="quickstart sweeper restart ok")
