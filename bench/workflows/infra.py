"""The processes and resources of one run: the benchmark database, a throw-away
redis-server as broker, and a real Celery worker. Imports nothing of Django at
module level (the parent process uses it before ``django.setup()``)."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psycopg

from config.env import VARIABLES

PROJECT_DIR = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
CELERY = str(Path(sys.executable).parent / "celery")
HOST = "127.0.0.1"

PG_DSN = "host=127.0.0.1 port=5432 user=postgres password=postgres dbname=postgres"
DATABASE = "erp_bench_workflows"
DATABASE_URL = f"postgres://postgres:postgres@127.0.0.1:5432/{DATABASE}"
CACHE_URL = "redis://127.0.0.1:6379/7"
WORKER_APP = "bench.workflows.worker_app"
WORKER_CONCURRENCY = 2


def django_env() -> dict[str, str]:
    """The environment of the bench process's Django and of the worker.

    Every variable config/env.py declares (and its ``_FILE`` form) is dropped from
    the inherited environment, so a developer's shell cannot change what is
    measured (e.g. a WORKFLOWS_DATABASE_URL); the ones below are set, the rest take
    their declared defaults. CELERY_BROKER_URL is added once the broker runs.
    """
    env = dict(os.environ)
    for var in VARIABLES:
        env.pop(var.name, None)
        env.pop(f"{var.name}_FILE", None)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        PYTHONPATH=os.pathsep.join(filter(None, [str(PROJECT_DIR), os.environ.get("PYTHONPATH")])),
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(48),  # 64 characters
        DATABASE_URL=DATABASE_URL,
        CACHE_URL=CACHE_URL,
        LOG_LEVEL="WARNING",
        SECURE_SSL_REDIRECT="false",
        # No Prometheus exporter in the worker: nothing scrapes it, and a fixed
        # port could clash with another worker on this host.
        WORKER_METRICS_PORT="0",
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


def migrate(env: dict[str, str]) -> None:
    result = subprocess.run(
        [PYTHON, "manage.py", "migrate", "--noinput"],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"manage.py migrate failed (exit {result.returncode}):\n{result.stdout}\n{result.stderr}"
        )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def wait_until(predicate, timeout: float, what: str, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")


class RedisServer:
    """A redis-server of our own on a free port: its queues start empty, and
    nothing else on the host reads or writes them."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.description = ""

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if not binary:
            raise RuntimeError("redis-server is not installed (scripts/ensure-services.sh installs it)")
        self.workdir.mkdir(parents=True, exist_ok=True)
        args = [binary, "--port", str(self.port), "--bind", HOST, "--save", "", "--appendonly", "no"]
        self.proc = subprocess.Popen(
            args,
            cwd=self.workdir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_until(self._answers, 10, "the broker redis-server")
        version = subprocess.run(
            [binary, "--version"], capture_output=True, text=True, timeout=10
        ).stdout.split()
        ver = next((w.split("=", 1)[1] for w in version if w.startswith("v=")), "?")
        self.description = f"own redis-server {ver} on {HOST}:{self.port} (no persistence), db 0"

    def _answers(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"redis-server exited with {self.proc.returncode} during start-up")
        try:
            with socket.create_connection((HOST, self.port), timeout=0.2) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)


class Worker:
    """``celery -A bench.workflows.worker_app worker`` (no beat) in its own
    process group; ``stop`` always ends the whole group (pool children too)."""

    def __init__(self, env: dict[str, str], log_path: Path):
        self.env = env
        self.log_path = log_path
        self.nodename = f"bench-wf-{os.getpid()}-{time.monotonic_ns()}@{socket.gethostname()}"
        self.proc: subprocess.Popen | None = None
        self._log = None

    @property
    def command(self) -> list[str]:
        return [
            CELERY, "-A", WORKER_APP, "worker",
            "--pool", "prefork", "--concurrency", str(WORKER_CONCURRENCY),
            "--loglevel", "WARNING",
            "--without-mingle", "--without-gossip",
            "-n", self.nodename,
        ]  # fmt: skip

    def describe(self) -> str:
        return (
            f"celery -A {WORKER_APP} worker --pool prefork --concurrency {WORKER_CONCURRENCY} (no beat), "
            "acks_late, prefetch multiplier 1, DB_CONN_MAX_AGE default"
        )

    def start(self, app) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self._log.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(self.command)}\n".encode())
        self._log.flush()
        self.proc = subprocess.Popen(
            self.command,
            cwd=PROJECT_DIR,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

        def answers() -> bool:
            if self.proc is None or self.proc.poll() is not None:
                raise RuntimeError(f"the worker exited during start-up; log:\n{self.log_tail()}")
            return bool(app.control.ping(destination=[self.nodename], timeout=0.5))

        # --loglevel WARNING hides the "ready." line: the worker is ready when it answers a ping.
        wait_until(answers, 90, "the Celery worker to answer a ping", interval=0.2)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)  # warm shutdown
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=15)
        if proc is not None:
            # Pool children left behind by a parent that died first share the group.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        if self._log is not None:
            self._log.close()
            self._log = None
