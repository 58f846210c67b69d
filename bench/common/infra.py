"""The processes and resources a benchmark run sets up: the Django environment,
the benchmark database, processes in their own group, a Celery worker and a
throw-away broker. Imports nothing of Django (parent processes use it before
``django.setup()``, or never set Django up)."""

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
from collections.abc import MutableMapping
from pathlib import Path

import psycopg

from config.env import VARIABLES

PROJECT_DIR = Path(__file__).resolve().parents[2]
RESULTS_DIR = PROJECT_DIR / "bench" / "results"
PYTHON = sys.executable
CELERY = str(Path(sys.executable).parent / "celery")
HOST = "127.0.0.1"

RABBIT_HOST, RABBIT_PORT = "127.0.0.1", 5672
WORKER_CONCURRENCY = 2
# For a worker's environment: no Prometheus exporter, since nothing scrapes it
# and a fixed port could clash with another worker on this host.
WORKER_ENV = {"WORKER_METRICS_PORT": "0"}


def postgres_dsn(dbname: str = "postgres") -> str:
    return f"host=127.0.0.1 port=5432 user=postgres password=postgres dbname={dbname}"


def database_url(dbname: str) -> str:
    return f"postgres://postgres:postgres@127.0.0.1:5432/{dbname}"


def drop_declared_variables(environ: MutableMapping[str, str]) -> None:
    """Remove every variable config/env.py declares (and its ``_FILE`` form), so
    a developer's shell cannot change what is measured."""
    for var in VARIABLES:
        environ.pop(var.name, None)
        environ.pop(f"{var.name}_FILE", None)


def django_env(
    *, database: str, cache_url: str, settings_module: str = "config.settings", **settings: str
) -> dict[str, str]:
    """The environment of every Django process of a run: the inherited one without
    the declared variables, then the ones below and ``settings``; every other
    declared variable takes its declared default."""
    env = dict(os.environ)
    drop_declared_variables(env)
    env.update(
        DJANGO_SETTINGS_MODULE=settings_module,
        PYTHONPATH=os.pathsep.join(filter(None, [str(PROJECT_DIR), os.environ.get("PYTHONPATH")])),
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(48),  # 64 characters
        DATABASE_URL=database_url(database),
        CACHE_URL=cache_url,
        LOG_LEVEL="WARNING",
        SECURE_SSL_REDIRECT="false",
        **settings,
    )
    return env


def run_checked(args: list[str], env: dict[str, str], what: str) -> str:
    """Run a command in the project directory; its stdout, or an error with its output."""
    result = subprocess.run(args, cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        raise RuntimeError(f"{what} failed (exit {result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result.stdout


def ensure_database(name: str) -> bool:
    """Create the benchmark database if missing; True when it was created."""
    with psycopg.connect(postgres_dsn(), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists:
            return False
        conn.execute(f'CREATE DATABASE "{name}"')
        return True


def prepare_database(name: str, env: dict[str, str]) -> None:
    """The benchmark database, created if missing, with every migration applied."""
    created = ensure_database(name)
    print(f"database {name}: {'created' if created else 'exists, reused'}", flush=True)
    run_checked([PYTHON, "manage.py", "migrate", "--noinput"], env, "manage.py migrate")
    print("migrations applied", flush=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def wait_until(predicate, timeout: float, what: str, interval: float = 0.1):
    """The first truthy value of ``predicate()``, polled until ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")


def poll_until(poll, done, timeout: float, what: str, interval: float):
    """The first value of ``poll()`` that ``done`` accepts; polled at least once, and
    the timeout's message shows the last value (how far the run got)."""
    deadline = time.monotonic() + timeout
    while True:
        value = poll()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what} (last: {value})")
        time.sleep(interval)


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _proc_stats():
    """(pid, process group, CPU seconds used: user + system) of every process
    (Linux /proc; nothing elsewhere). Processes that exited are not counted."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            # After "pid (comm)": state ppid pgrp ... utime (12th) stime (13th)
            yield int(entry.name), int(fields[2]), (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def group_cpu_seconds(pgid: int) -> float:
    """CPU seconds used so far by the live processes of a process group."""
    return sum(cpu for _pid, group, cpu in _proc_stats() if group == pgid)


def postgres_cpu_seconds(dbname: str) -> float:
    """CPU seconds used so far by the live PostgreSQL backends connected to
    ``dbname`` (their process title names it): with persistent connections
    (CONN_MAX_AGE), the difference over a run is that run's database work."""
    total = 0.0
    for pid, _group, cpu in _proc_stats():
        try:
            title = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if title.startswith("postgres: ") and f" {dbname} " in title:
            total += cpu
    return total


def host_cpu_seconds() -> dict[str, float]:
    """The host's CPU seconds so far, summed over its CPUs (Linux /proc/stat):
    ``busy`` (every process, kernel included), ``iowait`` and ``idle``."""
    with open("/proc/stat") as stat:
        ticks = [int(x) for x in stat.readline().split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = (ticks + [0] * 8)[:8]
    busy = user + nice + system + irq + softirq + steal
    return {"busy": busy / _CLOCK_TICKS, "iowait": iowait / _CLOCK_TICKS, "idle": idle / _CLOCK_TICKS}


class GroupProcess:
    """A subprocess in a process group of its own, its output in a log file.
    ``stop`` always ends the whole group: children it forked (pool processes,
    gunicorn workers, beat) cannot outlive a parent that died first."""

    def __init__(self, log_path: Path, stop_grace: float):
        self.log_path = log_path
        self.stop_grace = stop_grace  # seconds between SIGTERM and SIGKILL
        self.proc: subprocess.Popen | None = None
        self._log = None

    def spawn(self, args: list[str], env: dict[str, str], *, append_log: bool) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab" if append_log else "wb")  # noqa: SIM115 - closed in stop()
        if append_log:
            self._log.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(args)}\n".encode())
            self._log.flush()
        self.proc = subprocess.Popen(
            args,
            cwd=PROJECT_DIR,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def cpu_seconds(self) -> float:
        """CPU seconds used so far by the group's live processes (0 when stopped)."""
        return group_cpu_seconds(self.proc.pid) if self.proc is not None else 0.0

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)  # graceful / warm shutdown
            try:
                proc.wait(timeout=self.stop_grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=15)
        if proc is not None:
            # Children left behind by a parent that died first are still in the group.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        if self._log is not None:
            self._log.close()
            self._log = None


class CeleryWorker(GroupProcess):
    """``celery -A <app_module> worker --pool prefork`` with WORKER_CONCURRENCY
    processes, with embedded beat when given a ``beat_schedule`` file."""

    def __init__(
        self,
        app_module: str,
        env: dict[str, str],
        log_path: Path,
        *,
        node_prefix: str,
        description: str,
        beat_schedule: Path | None = None,
    ):
        super().__init__(log_path, stop_grace=20)
        self.app_module = app_module
        self.env = env
        self.beat_schedule = beat_schedule
        self.description = description
        self.nodename = f"{node_prefix}-{os.getpid()}-{time.monotonic_ns()}@{socket.gethostname()}"

    @property
    def command(self) -> list[str]:
        beat = ["-B", "-s", str(self.beat_schedule)] if self.beat_schedule else []
        return [
            CELERY, "-A", self.app_module, "worker",
            "-Q", "celery,erp.periodic",  # beat's tasks travel on erp.periodic
            "--pool", "prefork", "--concurrency", str(WORKER_CONCURRENCY),
            *beat,
            "--loglevel", "WARNING",
            "--without-mingle", "--without-gossip",
            "-n", self.nodename,
        ]  # fmt: skip

    def describe(self) -> str:
        return self.description

    def start(self, app) -> None:
        if self.beat_schedule:
            self.beat_schedule.parent.mkdir(parents=True, exist_ok=True)
        self.spawn(self.command, self.env, append_log=True)

        def answers() -> bool:
            if not self.alive():
                raise RuntimeError(f"the worker exited during start-up; log:\n{self.log_tail()}")
            return bool(app.control.ping(destination=[self.nodename], timeout=0.5))

        # --loglevel WARNING hides the "ready." line: the worker is ready when it answers a ping.
        wait_until(answers, 90, "the Celery worker to answer a ping", interval=0.2)


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


class RabbitVhost:
    """A fresh vhost on the local RabbitMQ (``rabbitmqctl``), deleted at the end.
    Without a usable rabbitmqctl: the default vhost, its ``celery`` queue purged."""

    def __init__(self):
        self.vhost = f"bench_{os.getpid()}"
        self.own_vhost = False
        self.description = ""

    @property
    def url(self) -> str:
        path = self.vhost if self.own_vhost else ""
        return f"amqp://guest:guest@{RABBIT_HOST}:{RABBIT_PORT}/{path}"

    @staticmethod
    def _ctl(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["rabbitmqctl", *args], capture_output=True, text=True, timeout=60)

    def start(self) -> None:
        if not port_open(RABBIT_HOST, RABBIT_PORT):
            raise RuntimeError(f"RabbitMQ does not answer on {RABBIT_HOST}:{RABBIT_PORT}")
        problem = ""
        if shutil.which("rabbitmqctl"):
            try:
                added = self._ctl("add_vhost", self.vhost)
                if added.returncode == 0:
                    self.own_vhost = True
                    perms = self._ctl("set_permissions", "-p", self.vhost, "guest", ".*", ".*", ".*")
                    if perms.returncode != 0:
                        raise RuntimeError(f"rabbitmqctl set_permissions failed: {perms.stderr.strip()}")
                else:
                    problem = added.stderr.strip() or added.stdout.strip()
            except (OSError, subprocess.TimeoutExpired) as exc:
                problem = str(exc)
        else:
            problem = "rabbitmqctl not on PATH"
        if self.own_vhost:
            self.description = (
                f"RabbitMQ {RABBIT_HOST}:{RABBIT_PORT}, fresh vhost {self.vhost!r} "
                "(rabbitmqctl add_vhost/set_permissions; deleted at the end)"
            )
        else:
            purged = self._purge_default()
            self.description = (
                f"RabbitMQ {RABBIT_HOST}:{RABBIT_PORT}, default vhost '/' (own vhost impossible: {problem}); "
                f"queue 'celery' purged first ({purged} messages dropped)"
            )

    def _purge_default(self) -> int:
        from kombu import Connection

        with Connection(self.url, connect_timeout=5) as conn:
            channel = conn.default_channel
            try:
                return channel.queue_purge("celery") or 0
            except Exception:  # noqa: BLE001 - no such queue yet: nothing to purge
                return 0

    def stop(self) -> None:
        if self.own_vhost:
            deleted = self._ctl("delete_vhost", self.vhost)
            if deleted.returncode != 0:
                print(f"warning: rabbitmqctl delete_vhost {self.vhost} failed: {deleted.stderr.strip()}")
            self.own_vhost = False
