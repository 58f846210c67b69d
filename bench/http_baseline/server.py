"""Database preparation and the one gunicorn the benchmark runs against."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg

from config.env import VARIABLES

PROJECT_DIR = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
SETTINGS_MODULE = "bench.http_baseline.settings"
HOST = "127.0.0.1"

PG_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
DATABASE = "erp_bench"
DATABASE_URL = f"postgres://postgres@127.0.0.1:5432/{DATABASE}"
CACHE_URL = "redis://127.0.0.1:6379/5"

USERNAME = "bench"
ROLE = "viewer"


def django_env(*, jwt_access_minutes: int) -> dict[str, str]:
    """The environment for every Django process of the run.

    Every variable config/env.py declares (and its ``_FILE`` form) is dropped from
    the inherited environment first, so a developer's shell cannot change what is
    measured; the ones below are set, the rest take their declared defaults. Likewise
    gunicorn's own GUNICORN_CMD_ARGS and WEB_CONCURRENCY.
    """
    env = dict(os.environ)
    for var in VARIABLES:
        env.pop(var.name, None)
        env.pop(f"{var.name}_FILE", None)
    for name in ("GUNICORN_CMD_ARGS", "WEB_CONCURRENCY"):  # gunicorn would read these itself
        env.pop(name, None)
    env.update(
        DJANGO_SETTINGS_MODULE=SETTINGS_MODULE,
        PYTHONPATH=os.pathsep.join(filter(None, [str(PROJECT_DIR), os.environ.get("PYTHONPATH")])),
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(48),  # 64 characters
        DATABASE_URL=DATABASE_URL,
        CACHE_URL=CACHE_URL,
        SECURE_SSL_REDIRECT="false",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        LOG_LEVEL="WARNING",
        THROTTLE_USER_RATE="1000000/minute",
        THROTTLE_ANON_RATE="1000000/minute",
        JWT_ACCESS_MINUTES=str(jwt_access_minutes),
    )
    return env


def ensure_database() -> bool:
    """Create the benchmark database if missing; True when it was created."""
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone()
        if exists:
            return False
        conn.execute(f'CREATE DATABASE "{DATABASE}"')
        return True


def _run(args: list[str], env: dict[str, str], what: str, extra_env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        args,
        cwd=PROJECT_DIR,
        env={**env, **(extra_env or {})},
        capture_output=True,
        text=True,
        timeout=600,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{what} failed (exit {result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result.stdout


def migrate(env: dict[str, str]) -> None:
    _run([PYTHON, "manage.py", "migrate", "--noinput"], env, "manage.py migrate")


def ensure_user(env: dict[str, str]) -> tuple[str, str, str]:
    """Create or reuse the benchmark user; return (username, password, message)."""
    password = secrets.token_urlsafe(24)
    out = _run(
        [PYTHON, "-m", "bench.http_baseline.ensure_user"],
        env,
        "creating the benchmark user",
        {"BENCH_USERNAME": USERNAME, "BENCH_PASSWORD": password, "BENCH_ROLE": ROLE},
    )
    return USERNAME, password, out.strip()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


@dataclass
class GunicornConfig:
    workers: int = 2
    threads: int = 1
    worker_class: str = "sync"
    timeout: int = 30

    def describe(self) -> str:
        return f"gunicorn {self.worker_class} worker class, workers={self.workers}, threads={self.threads}"


class Gunicorn:
    """One gunicorn in its own process group; ``stop`` always ends the whole group."""

    def __init__(self, env: dict[str, str], config: GunicornConfig, log_path: Path):
        self.env = env
        self.config = config
        self.log_path = log_path
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self._log = None

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> None:
        args = [
            PYTHON, "-m", "gunicorn", "config.wsgi:application",
            "--chdir", str(PROJECT_DIR),
            "--bind", f"{HOST}:{self.port}",
            "--worker-class", self.config.worker_class,
            "--workers", str(self.config.workers),
            "--threads", str(self.config.threads),
            "--timeout", str(self.config.timeout),
            "--graceful-timeout", "5",
            "--log-level", "warning",
            "--error-logfile", "-",
        ]  # fmt: skip
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            args,
            cwd=PROJECT_DIR,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def wait_healthy(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        last_error = "no answer"
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited during start-up; log:\n{self.log_tail()}")
            try:
                status, _body = request(self.port, "GET", "/healthz", timeout=2)
                if status == 200:
                    return
                last_error = f"HTTP {status}"
            except OSError as exc:
                last_error = f"{exc.__class__.__name__}: {exc}"
            time.sleep(0.2)
        raise RuntimeError(
            f"/healthz not healthy after {timeout:.0f} s ({last_error}); log:\n{self.log_tail()}"
        )

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=15)
        if proc is not None:
            # Workers left behind by a master that died first are in the same group.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        if self._log is not None:
            self._log.close()
            self._log = None


def request(
    port: int, method: str, path: str, *, body: dict | None = None, headers=None, timeout: float = 10
):
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        data = json.dumps(body).encode() if body is not None else None
        all_headers = {"Accept": "application/json", **(headers or {})}
        if data is not None:
            all_headers["Content-Type"] = "application/json"
        conn.request(method, path, body=data, headers=all_headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def obtain_token(port: int, username: str, password: str) -> str:
    status, body = request(
        port, "POST", "/api/v1/auth/token/", body={"username": username, "password": password}
    )
    if status != 200:
        raise RuntimeError(f"POST /api/v1/auth/token/ answered {status}: {body[:500]!r}")
    return json.loads(body)["access"]
