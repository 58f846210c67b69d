"""What a new user meets on the quick start: the index at /, `make run` twice,
and the staff commands (manage.py, make worker/beat) on the .env it writes."""

import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
from contextlib import closing
from pathlib import Path

import pytest
from django.conf import settings

from tests.worker import free_port

ROOT = Path(__file__).resolve().parents[2]
INDEX_LINKS = {
    "docs": "/api/docs/",
    "redoc": "/api/redoc/",
    "schema": "/api/schema/",
    "admin": "/admin/",
    "healthz": "/healthz",
    "readyz": "/readyz",
    "metrics": "/metrics",
}
APP_ROOTS = {
    "auth": "/api/v1/auth/",
    "core": "/api/v1/core/",
    "workflows": "/api/v1/workflows/",
    "estoque": "/api/v1/estoque/",
    "financeiro": "/api/v1/financeiro/",
    "vendas": "/api/v1/vendas/",
}


# --- the index ---------------------------------------------------------------------------


@pytest.mark.django_db(databases="__all__")  # readyz, one of the links, checks every database
class TestIndex:
    @pytest.mark.parametrize("path", ["/", "/api/", "/api/v1/"])
    def test_the_index_needs_no_token_and_lists_where_everything_is(self, api, path):
        response = api.get(path)
        assert response.status_code == 200
        body = response.json()
        assert body["links"] == INDEX_LINKS
        assert body["apis"] == APP_ROOTS
        assert body["version"] == "v1"

    def test_every_link_of_the_index_answers(self, api, admin_api):
        body = api.get("/").json()
        for name, path in body["links"].items():
            expected = 302 if name == "admin" else 200  # the admin sends you to its login
            assert api.get(path).status_code == expected, name
        for app, path in body["apis"].items():
            assert admin_api.get(path).status_code == 200, app

    def test_an_app_root_lists_its_endpoints_and_their_methods(self, api):
        body = api.get("/api/v1/core/").json()
        assert body["app"] == "core"
        assert body["endpoints"]["/api/v1/core/users/"] == ["GET", "POST"]
        assert body["endpoints"]["/api/v1/core/company/"] == ["GET", "PATCH"]
        assert "/api/v1/auth/token/" in api.get("/api/v1/auth/").json()["endpoints"]

    def test_the_index_is_read_only(self, api):
        response = api.post("/api/v1/", {})
        assert response.status_code == 405
        assert response["Content-Type"] == "application/problem+json"


# --- make run ----------------------------------------------------------------------------


@pytest.fixture
def checkout(tmp_path):
    """scripts/run.sh in a directory of its own, with a bootstrap that only notes
    it ran and a .venv/bin/python that records each command (and runs ``-c``)."""
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "run.sh", tmp_path / "scripts" / "run.sh")
    bootstrap = tmp_path / "scripts" / "bootstrap.sh"
    bootstrap.write_text('#!/usr/bin/env bash\ntouch "$(dirname "$0")/../bootstrapped"\n')
    python = tmp_path / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(
        "#!/usr/bin/env bash\n"
        f'[ "$1" = -c ] && exec {sys.executable} "$@"\n'
        'echo "$*" >> "$(dirname "$0")/../../commands.log"\n'
    )
    for script in (bootstrap, python):
        script.chmod(0o755)
    return tmp_path


def run_sh(checkout: Path, address: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(checkout / "scripts" / "run.sh")],
        env={"PATH": os.environ["PATH"], "ADDRESS": address},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_run_stops_before_touching_anything_when_its_port_is_busy(checkout):
    with closing(socket.socket()) as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        address = f"127.0.0.1:{server.getsockname()[1]}"
        result = run_sh(checkout, address)
    assert result.returncode != 0
    assert f"{address} is already in use" in result.stderr
    assert not (checkout / "bootstrapped").exists()
    assert not (checkout / ".env").exists()
    assert not (checkout / "commands.log").exists()  # no migrate, no seed, no server


def test_run_writes_a_private_env_once_and_serves(checkout):
    address = f"127.0.0.1:{free_port()}"
    first = run_sh(checkout, address)
    assert first.returncode == 0, first.stderr
    env_file = checkout / ".env"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600  # it holds the SECRET_KEY
    values = dict(line.split("=", 1) for line in env_file.read_text().splitlines() if line and line[0] != "#")
    assert values.pop("SECRET_KEY").__len__() >= 50
    # DATABASE_URL stays the default (SQLite, db.sqlite3): docker compose reads .env too.
    assert values == {"DEBUG": "true", "LOG_FORMAT": "console"}
    assert "# DATABASE_URL=sqlite:///db.sqlite3" in env_file.read_text()
    commands = (checkout / "commands.log").read_text().splitlines()
    assert commands == [
        "manage.py migrate --noinput -v 0",
        "manage.py seed_demo",
        f"manage.py runserver {address}",
    ]

    written = env_file.read_text()
    assert run_sh(checkout, address).returncode == 0
    assert env_file.read_text() == written  # the same SECRET_KEY: sessions and tokens stay valid


# --- staff commands on the quick start's .env ---------------------------------------------


@pytest.fixture
def quickstart_env(tmp_path) -> Path:
    """A .env as `make run` writes it (with an in-memory database: nothing to create)."""
    path = tmp_path / "quickstart.env"
    path.write_text(
        "DEBUG=true\nDATABASE_URL=sqlite://:memory:\nSECRET_KEY=" + "q" * 50 + "\nLOG_FORMAT=console\n"
    )
    return path


def command(*args, **variables) -> subprocess.CompletedProcess:
    """A command from the project directory with only ``variables`` in its environment."""
    return subprocess.run(
        list(args),
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), **variables},
        capture_output=True,
        text=True,
        timeout=120,
    )


def manage(*args, **variables) -> subprocess.CompletedProcess:
    return command(sys.executable, "manage.py", *args, **variables)


def test_manage_commands_work_on_the_quickstart_env(quickstart_env):
    without = manage("replay_events", "--help", DOTENV_PATH="")
    assert without.returncode != 0 and "SECRET_KEY is required" in without.stderr

    result = manage("replay_events", "--help", DOTENV_PATH=str(quickstart_env))
    assert result.returncode == 0, result.stderr
    assert "usage: manage.py replay_events" in result.stdout

    check = manage("check", "--deploy", DOTENV_PATH=str(quickstart_env))
    assert check.returncode == 0, check.stderr
    assert "security.W018" in check.stdout + check.stderr  # it checked: DEBUG is on


def test_the_environment_wins_over_the_env_file(quickstart_env):
    result = manage(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.DEBUG, settings.LOG_LEVEL)",
        DOTENV_PATH=str(quickstart_env),
        DEBUG="false",
        SECRET_KEY="s" * 50,
        LOG_LEVEL="ERROR",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-2:] == ["False", "ERROR"]


def test_a_missing_env_file_that_was_asked_for_stops_start_up(tmp_path):
    result = manage("check", DOTENV_PATH=str(tmp_path / "nope.env"), DEBUG="true")
    assert result.returncode != 0
    assert "DOTENV_PATH" in result.stderr and "nope.env" in result.stderr


@pytest.mark.parametrize("target", ["worker", "beat"])
def test_make_worker_and_beat_say_there_is_no_broker_on_the_quickstart(quickstart_env, target):
    result = command("make", target, DOTENV_PATH=str(quickstart_env))
    assert result.returncode != 0
    assert f"{target}: no broker configured (CELERY_BROKER_URL is empty)" in result.stderr
    assert "Traceback" not in result.stderr


def test_beat_keeps_its_schedule_outside_the_source_tree():
    from config.celery import app

    schedule = Path(settings.CELERY_BEAT_SCHEDULE_FILENAME)
    assert app.conf.beat_schedule_filename == str(schedule)
    assert schedule.is_absolute() and schedule.parent == Path(tempfile.gettempdir())
    assert ROOT not in schedule.parents
    # A schedule written in the tree anyway (`celery beat` run with -s .) is not committed.
    assert "celerybeat-schedule*" in (ROOT / ".gitignore").read_text().splitlines()
