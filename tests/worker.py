"""A real Celery worker (with embedded beat), a standalone beat and a Redis broker
of their own, as subprocesses the tests can kill and restart."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from contextlib import closing, contextmanager
from pathlib import Path

from celery import current_app
from django.db import connections

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, timeout: float, interval: float = 0.1, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")


class RedisBroker:
    """A throw-away redis-server: stopping it loses queued messages, like a crash."""

    def __init__(self, tmp: Path):
        self.port = free_port()
        self.tmp = tmp
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not installed (scripts/ensure-services.sh installs it)"
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            cwd=self.tmp,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(self._answers, 10, message="redis broker")

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    client_conf: dict = {}

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    resume = start
    remove = stop


def database_env() -> dict[str, str]:
    """The test databases as URLs, so the worker uses exactly what the tests use."""
    env = {}
    for alias in connections:
        cfg = connections[alias].settings_dict
        url = f"postgres://{cfg['USER']}:{cfg['PASSWORD']}@{cfg['HOST']}:{cfg['PORT']}/{cfg['NAME']}"
        env["DATABASE_URL" if alias == "default" else f"{alias.upper()}_DATABASE_URL"] = url
    return env


class CeleryProcess:
    """A celery command in its own process group, on the test databases, logging
    JSON to ``log_path``; ``settings`` are extra environment variables."""

    def __init__(self, broker_url: str, log_path: Path, **settings: str):
        self.broker_url = broker_url
        self.log_path = log_path
        self.settings = settings
        self.process: subprocess.Popen | None = None

    def spawn(self, *args: str) -> int:
        """Run ``celery *args``; return the log's size before it, where its output starts."""
        env = {
            **os.environ,
            **database_env(),
            "CELERY_BROKER_URL": self.broker_url,
            "DB_CONN_MAX_AGE": "0",
            "LOG_FORMAT": "json",
            "LOG_LEVEL": "INFO",
            **self.settings,
        }
        celery = Path(sys.executable).parent / "celery"
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        log = self.log_path.open("ab")
        # Own process group: a SIGKILL takes the process and its children at once.
        self.process = subprocess.Popen(
            [str(celery), *args],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return offset

    def wait_for_log(self, marker: bytes, offset: int, message: str) -> None:
        wait_until(lambda: marker in self.log_path.read_bytes()[offset:], 60, message=message)

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


class Worker(CeleryProcess):
    def start(self, wait: bool = True) -> None:
        """Start the worker; wait=False when the broker is down (it is not
        "ready" before it has connected)."""
        schedule = self.log_path.with_suffix(".schedule")
        command = [
            "-A",
            "tests.erp.event_worker",
            "worker",
            "-B",
            "-s",
            str(schedule),
            "-Q",
            "celery,erp.periodic",
        ]
        command += ["--pool", "prefork", "--concurrency", "2", "--loglevel", "INFO", "--without-mingle"]
        command += ["--without-gossip", "-n", f"test-{os.getpid()}-{time.monotonic_ns()}@%h"]
        offset = self.spawn(*command)
        if wait:
            self.wait_for_log(b" ready.", offset, "celery worker ready")


class Beat(CeleryProcess):
    """`celery -A config beat`, the command the beat container runs."""

    def start(self) -> None:
        schedule = self.log_path.with_suffix(".schedule")
        offset = self.spawn("-A", "config", "beat", "--loglevel", "INFO", "--schedule", str(schedule))
        self.wait_for_log(b"beat: Starting", offset, "celery beat started")


class RabbitBroker:
    """The machine's RabbitMQ with a throw-away vhost; stop() stops the node's
    app (quorum queues keep their messages on disk across it)."""

    def __init__(self):
        self.vhost = f"test-{os.getpid()}-{free_port()}"
        self.process = None  # the node is not ours; see running()

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:5672/{self.vhost}"

    # What a process publishing to this broker must configure, as settings do.
    client_conf = {
        "task_default_queue_type": "quorum",
        "task_create_missing_queue_type": "quorum",
        "broker_transport_options": {"confirm_publish": True},
    }

    @staticmethod
    def _ctl(*args: str) -> None:
        subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=120)

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", 5672), timeout=0.2):
                return True
        except OSError:
            return False

    def running(self) -> bool:
        return self._answers()

    def start(self) -> None:
        if not self._answers():
            self._ctl("start_app")
            wait_until(self._answers, 60, message="rabbitmq")
        self._ctl("add_vhost", self.vhost)
        self._ctl("set_permissions", "-p", self.vhost, "guest", ".*", ".*", ".*")

    def stop(self) -> None:
        self._ctl("stop_app")

    def resume(self) -> None:
        self._ctl("start_app")
        wait_until(self._answers, 60, message="rabbitmq")

    def remove(self) -> None:
        if not self._answers():
            self.resume()
        self._ctl("delete_vhost", self.vhost)


def reset_producer(app) -> None:
    """Forget connection pools and declared queues built for another broker."""
    app._after_fork()
    app.__dict__.pop("amqp", None)


@contextmanager
def publishing_to(broker):
    """Inside the block this process publishes to ``broker`` (not eagerly), so
    tasks and events reach the worker; the previous configuration comes back."""
    conf = {"task_always_eager": False, "broker_url": broker.url, **broker.client_conf}
    saved = {key: current_app.conf[key] for key in conf}
    current_app.conf.update(conf)
    reset_producer(current_app)
    try:
        yield
    finally:
        current_app.conf.update(saved)
        reset_producer(current_app)
