"""The relay on the quick start's embedded default (SQLite, Celery eager), which
takes the portable ORM paths instead of PostgreSQL's single statements."""

import os
import subprocess
import sys
from pathlib import Path

from config.env import VARIABLES

PROJECT = Path(__file__).resolve().parents[2]


def test_events_are_delivered_once_on_sqlite_with_eager_celery(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {var.name for var in VARIABLES}}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=f"sqlite:///{tmp_path / 'quickstart.sqlite3'}",
        SECRET_KEY="quickstart-relay-test-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        PYTHONPATH=str(PROJECT),
    )
    run = {"cwd": PROJECT, "env": env, "capture_output": True, "text": True, "timeout": 300}
    migrate = subprocess.run([sys.executable, "manage.py", "migrate", "--noinput"], **run, check=False)
    assert migrate.returncode == 0, migrate.stderr
    check = subprocess.run([sys.executable, "-m", "tests.erp.sqlite_relay_check"], **run, check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "quickstart relay ok" in check.stdout
