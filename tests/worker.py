"""Real processes for the tests that cross them: a Celery worker (with embedded
beat), a standalone beat, and brokers and a Redis of the tests' own, which the
tests may kill and restart. Nothing here touches the machine's services: every
server is started by the tests, on a free port, and stopped by them.

Public helpers:

* ``free_port()``, ``wait_until(predicate, timeout, interval=0.1, message=...)``.
* ``RedisServer(tmp)`` / ``RedisBroker(tmp)``: a throw-away ``redis-server``
  (``start``, ``stop``, ``resume``, ``remove``, ``running``, ``url``); stopping
  it loses what it held, like a crash.
* ``RabbitNode(tmp)``: a private ``rabbitmq-server`` node (own node name, ports,
  Erlang cookie, epmd, data directory; no plugins). It takes about 20 s to boot
  on a 2-core machine, so the suite keeps one per session (``rabbit_node``
  fixture in tests/conftest.py) and gives each test module a vhost of its own:
  ``RabbitBroker(node)``. ``stop()`` stops the node's RabbitMQ application
  (connections drop, new ones are refused; the quorum queues keep their
  messages on disk), ``resume()`` starts it again; ``crash()`` SIGKILLs the
  node's OS process (``resume()`` then boots it again on the same data).
* ``database_env(via={alias: port})``: the test databases as the environment a
  process reads them from; ``via`` routes an alias through 127.0.0.1:port (a
  ``tests.proxy.TcpProxy`` in front of PostgreSQL), to cut that process off
  that database alone.
* ``CeleryProcess(broker_url, log_path, via=None, **env)``, ``Worker`` (consumes
  ``celery`` and ``erp.periodic``, as deployed), ``Beat``.
* ``advance_relay_clock(seconds)``: "time passes" for the relay: every relay
  timestamp on every database moves back by ``seconds``.
* ``publishing_to(broker)``: this process publishes to ``broker`` inside the block.
"""

from __future__ import annotations

import itertools
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from contextlib import closing, contextmanager
from pathlib import Path
from urllib.parse import quote

from celery import current_app
from django.conf import settings
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


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def _kill_group(process: subprocess.Popen | None) -> None:
    if process is not None and process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


class RedisServer:
    """A throw-away redis-server without persistence: stopping it loses what it
    held, like a crash."""

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
            start_new_session=True,
        )
        wait_until(self._answers, 10, message="redis-server")

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        _kill_group(self.process)

    client_conf: dict = {}

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    resume = start
    remove = stop


class RedisBroker(RedisServer):
    """A Redis broker of the test's own."""


# --- RabbitMQ ---------------------------------------------------------------------


def _rabbit_script(name: str) -> str:
    # Debian's /usr/sbin/<name> is a wrapper that runs the real script as the
    # rabbitmq user, with that user's home and cookie: the machine's node. The
    # real one runs as us, with the environment we give it.
    for candidate in (Path("/usr/lib/rabbitmq/bin") / name, shutil.which(name)):
        if candidate and Path(candidate).is_file():
            return str(candidate)
    raise AssertionError(f"{name} is not installed (scripts/ensure-services.sh installs RabbitMQ)")


class RabbitNode:
    """A RabbitMQ node of the tests' own, in ``tmp``: node name, AMQP and
    distribution ports, epmd, Erlang cookie (HOME is ``tmp``), configuration,
    data and logs. The machine's node is never contacted."""

    _vhosts = itertools.count(1)

    def __init__(self, tmp: Path):
        self.dir = tmp
        self.port = free_port()
        self.dist_port = free_port()
        self.epmd_port = free_port()
        self.name = f"test-{os.getpid()}-{self.port}@localhost"
        self.process: subprocess.Popen | None = None
        self.epmd: subprocess.Popen | None = None
        self.boot_seconds: list[float] = []  # how long each boot took (for the record)
        self._configure()

    def _configure(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        cookie = self.dir / ".erlang.cookie"
        if not cookie.exists():  # written before anything starts: server and CLI read the same
            cookie.write_text(secrets.token_hex(16).upper())
            cookie.chmod(0o400)
        (self.dir / "rabbitmq-env.conf").write_text("")  # not /etc/rabbitmq's (the machine's node name)
        (self.dir / "enabled_plugins").write_text("[].\n")  # no management plugin, no listener of its own
        (self.dir / "rabbitmq.conf").write_text(
            f"listeners.tcp.default = 127.0.0.1:{self.port}\n"
            "log.console = true\nlog.console.level = warning\nlog.file.level = info\n"
        )

    def env(self) -> dict[str, str]:
        """The environment of the node and of every rabbitmqctl call for it."""
        return {
            **os.environ,
            "HOME": str(self.dir),
            "RABBITMQ_NODENAME": self.name,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_CONF_ENV_FILE": str(self.dir / "rabbitmq-env.conf"),
            "RABBITMQ_CONFIG_FILE": str(self.dir / "rabbitmq.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(self.dir / "advanced.config"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.dir / "enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": str(self.dir / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.dir / "log"),
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "ERL_EPMD_PORT": str(self.epmd_port),
        }

    def ctl(self, *args: str, timeout: float = 120) -> str:
        result = subprocess.run(
            [_rabbit_script("rabbitmqctl"), "-n", self.name, "-q", *args],
            env=self.env(),
            cwd=self.dir,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert result.returncode == 0, f"rabbitmqctl {' '.join(args)}: {result.stdout}{result.stderr}"
        return result.stdout

    def running(self) -> bool:
        return _answers(self.port)

    def start(self) -> None:
        """Boot the node (again, after crash(), on the same data)."""
        assert not self.running(), f"port {self.port} is taken: a node there would not be ours"
        self._start_epmd()
        started = time.monotonic()
        log = (self.dir / "server.log").open("ab")
        self.process = subprocess.Popen(
            [_rabbit_script("rabbitmq-server")],
            cwd=self.dir,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a SIGKILL to the group takes beam and its helpers
        )
        wait_until(self._booted, 120, interval=0.25, message=f"rabbitmq node {self.name}")
        self.boot_seconds.append(time.monotonic() - started)

    def _booted(self) -> bool:
        if self.process.poll() is not None:
            tail = (self.dir / "server.log").read_text(errors="replace")[-3000:]
            raise AssertionError(f"rabbitmq-server exited ({self.process.returncode}):\n{tail}")
        return self.running()

    def _start_epmd(self) -> None:
        # An epmd of our own (a foreground child we can kill), so that the node
        # neither needs the machine's nor leaves a daemon behind.
        if self.epmd is not None and self.epmd.poll() is None:
            return
        binary = shutil.which("epmd") or "/usr/lib/erlang/bin/epmd"
        self.epmd = subprocess.Popen(
            [binary, "-port", str(self.epmd_port), "-address", "127.0.0.1"],
            env=self.env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_until(lambda: _answers(self.epmd_port), 10, message="epmd")

    def stop(self) -> None:
        """Stop RabbitMQ in the node: its clients are disconnected and new
        connections refused; queued messages stay on disk."""
        self.ctl("stop_app")

    def resume(self) -> None:
        if self.process is None or self.process.poll() is not None:
            self.start()
        elif not self.running():
            self.ctl("start_app")
            wait_until(self.running, 60, message=f"rabbitmq node {self.name} listening")

    def crash(self) -> None:
        """SIGKILL the node (beam and its helpers): what the quorum queues had
        confirmed to disk is all that is left."""
        _kill_group(self.process)
        # A killed beam takes a moment to exit and close its listener.
        wait_until(lambda: not self.running(), 30, message=f"rabbitmq node {self.name} gone")

    def add_vhost(self, vhost: str) -> None:
        definitions = self.dir / f"vhost-{vhost}.json"
        permissions = {"user": "guest", "vhost": vhost, "configure": ".*", "write": ".*", "read": ".*"}
        definitions.write_text(json.dumps({"vhosts": [{"name": vhost}], "permissions": [permissions]}))
        self.ctl("import_definitions", str(definitions))  # one CLI call (each costs ~2 s) for both

    def delete_vhost(self, vhost: str) -> None:
        self.ctl("delete_vhost", vhost)

    def new_vhost_name(self) -> str:
        return f"test-{next(self._vhosts)}"

    def remove(self) -> None:
        self.crash()
        _kill_group(self.epmd)
        shutil.rmtree(self.dir, ignore_errors=True)


class RabbitBroker:
    """A vhost of its own on a private RabbitMQ node (tests/conftest.py's
    session-wide ``rabbit_node``). stop()/resume()/crash() act on the node."""

    def __init__(self, node: RabbitNode):
        self.node = node
        self.vhost = node.new_vhost_name()
        self.process = None  # the node's process is the node's; see running()

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.node.port}/{self.vhost}"

    # What a process publishing to this broker must configure, as settings do.
    client_conf = {
        "task_default_queue_type": "quorum",
        "task_create_missing_queue_type": "quorum",
        "broker_transport_options": {"confirm_publish": True},
    }

    def running(self) -> bool:
        return self.node.running()

    def start(self) -> None:
        self.node.resume()
        self.node.add_vhost(self.vhost)

    def stop(self) -> None:
        self.node.stop()

    def resume(self) -> None:
        self.node.resume()

    def crash(self) -> None:
        self.node.crash()

    def remove(self) -> None:
        self.node.resume()
        self.node.delete_vhost(self.vhost)


# --- Celery processes ---------------------------------------------------------------


def database_env(via: dict[str, int] | None = None) -> dict[str, str]:
    """The test databases as the URLs a process reads (DATABASE_URL,
    <APP>_DATABASE_URL), so it uses exactly what the tests use. ``via`` maps
    aliases to local ports to reach them through (a TcpProxy)."""
    via = dict(via or {})
    unknown = set(via) - set(connections)
    if unknown:
        raise ValueError(f"no database alias {sorted(unknown)} in this run (aliases: {list(connections)})")
    env = {}
    for alias in connections:
        cfg = connections[alias].settings_dict
        host, port = ("127.0.0.1", via[alias]) if alias in via else (cfg["HOST"], cfg["PORT"])
        user, password = quote(cfg["USER"], safe=""), quote(cfg["PASSWORD"], safe="")
        url = f"postgres://{user}:{password}@{host}:{port}/{cfg['NAME']}"
        env["DATABASE_URL" if alias == "default" else f"{alias.upper()}_DATABASE_URL"] = url
    return env


class CeleryProcess:
    """A celery command in its own process group, on the test databases (each
    alias in ``via`` through the given local port), logging JSON to
    ``log_path``; ``settings`` are extra environment variables. Both may be
    changed between runs (``process.via = {...}``; takes effect at the next start)."""

    def __init__(self, broker_url: str, log_path: Path, via: dict[str, int] | None = None, **settings: str):
        self.broker_url = broker_url
        self.log_path = log_path
        self.via = dict(via or {})
        self.settings = settings
        self.process: subprocess.Popen | None = None

    def spawn(self, *args: str) -> int:
        """Run ``celery *args``; return the log's size before it, where its output starts."""
        env = {
            **os.environ,  # TEST_CONTROL_REDIS_URL included (tests/conftest.py)
            **database_env(self.via),
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

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def wait_for_log(self, marker: bytes, offset: int, message: str) -> None:
        wait_until(lambda: marker in self.log_path.read_bytes()[offset:], 60, message=message)

    def kill(self) -> None:
        _kill_group(self.process)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


def worker_queues() -> str:
    """The queues every worker consumes, as deployed: tasks, and beat's."""
    return f"{current_app.conf.task_default_queue},{settings.CELERY_PERIODIC_QUEUE}"


class Worker(CeleryProcess):
    def start(self, wait: bool = True) -> None:
        """Start the worker; wait=False when the broker is down (it is not
        "ready" before it has connected)."""
        schedule = self.log_path.with_suffix(".schedule")
        command = ["-A", "tests.erp.event_worker", "worker", "-B", "-s", str(schedule), "-Q", worker_queues()]
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


# --- The relay's clock ----------------------------------------------------------------

# Every relay timestamp, by model (erp/models.py); the relay reads them against
# the database's clock only, so moving them back is time passing for it.
_RELAY_TIMESTAMPS = {
    "Delivery": ("enqueued_at", "next_attempt_at", "started_at", "outage_since", "delivered_at"),
    "OutboxEvent": ("created_at",),
    "InboxRecord": ("processed_at",),
}


def advance_relay_clock(seconds: float) -> None:
    """Move every relay timestamp on every database alias back by ``seconds``:
    to the relay (a worker's sweep included) that much time has passed. Lets a
    test prove a recovery at production timings (a lost message resent after
    EVENTS_REDELIVER_AFTER_SECONDS, a retry after its backoff) without waiting."""
    from erp import models

    for alias in connections:
        with connections[alias].cursor() as cursor:
            for model, columns in _RELAY_TIMESTAMPS.items():
                table = getattr(models, model)._meta.db_table
                moved = ", ".join(f"{column} = {column} - %(by)s * interval '1 second'" for column in columns)
                cursor.execute(f"UPDATE {table} SET {moved}", {"by": seconds})  # noqa: S608 - names above


# --- Publishing from the test process ---------------------------------------------------


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
