"""Beat's tasks travel on a queue of their own (settings.CELERY_PERIODIC_QUEUE), so a
backlog of event deliveries on the default queue cannot hold a sweep back until it
expires. That holds only while beat's tasks are routed there (asked of Celery's own
router) and every worker the project ships consumes it: the commands `make worker`,
docker compose and the Kubernetes overlays run."""

from __future__ import annotations

import shlex
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from django.conf import settings

from config.celery import app
from deploy import manifests
from deploy.environments import ENVIRONMENTS
from tests.deploy.conftest import ROOT, one

SHELL_SEPARATORS = {"&&", "||", ";", "|", "&"}


def shell_words(script: str) -> list[str]:
    """``script``'s words as a POSIX shell splits them, operators (``&&``, ``;``) apart."""
    lexer = shlex.shlex(script, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    return list(lexer)


def worker_commands(tokens: list[str]) -> list[list[str]]:
    """The `celery ... worker ...` invocations among shell ``tokens`` (one command
    line, or an `sh -c` script split into words), each up to its shell separator."""
    found = []
    for start, token in enumerate(tokens):
        if Path(token).name != "celery":
            continue
        end = next((i for i in range(start, len(tokens)) if tokens[i] in SHELL_SEPARATORS), len(tokens))
        if "worker" in tokens[start:end]:
            found.append(tokens[start:end])
    return found


def option(argv: list[str], short: str, long: str) -> str | None:
    """The value of ``-X value``, ``-Xvalue``, ``--long value`` or ``--long=value``."""
    for i, arg in enumerate(argv):
        if arg in (short, long):
            return argv[i + 1]
        if arg.startswith(f"{long}="):
            return arg.partition("=")[2]
        if arg.startswith(short) and not arg.startswith("--") and len(arg) > len(short):
            return arg[len(short) :]
    return None


def queues(argv: list[str]) -> set[str]:
    """What the worker ``argv`` consumes: its -Q list, else (no task_queues are
    configured) only the default queue."""
    listed = option(argv, "-Q", "--queues")
    return set(listed.split(",")) if listed else {app.conf.task_default_queue}


def concurrency(argv: list[str]) -> int | None:
    value = option(argv, "-c", "--concurrency")
    return int(value) if value else None


BOTH = {"celery", "erp.periodic"}


def test_the_queue_names_agree_everywhere():
    assert app.conf.task_default_queue == manifests.DEFAULT_QUEUE
    assert settings.CELERY_PERIODIC_QUEUE == manifests.PERIODIC_QUEUE
    assert {app.conf.task_default_queue, settings.CELERY_PERIODIC_QUEUE} == BOTH


def test_every_beat_task_is_routed_to_the_periodic_queue():
    app.loader.import_default_modules()  # the tasks, registered under the names beat sends
    assert app.conf.beat_schedule == settings.CELERY_BEAT_SCHEDULE
    assert app.conf.beat_schedule, "beat has tasks to send"
    for name, entry in app.conf.beat_schedule.items():
        assert entry["task"] in app.tasks, f"{name}: beat sends {entry['task']}, which no module defines"
        # What apply_async does with beat's message: the entry's options, then the routes.
        route = app.amqp.router.route(dict(entry.get("options", {})), entry["task"])
        assert route["queue"].name == settings.CELERY_PERIODIC_QUEUE, name


def test_a_periodic_run_expires_only_once_its_successor_has_waited_too():
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        interval = entry["schedule"]
        assert isinstance(interval, timedelta), name
        expires = entry["options"]["expires"]
        # One interval late is not too late: the next run has only just been sent.
        assert expires >= 2 * interval.total_seconds(), name


def test_make_worker_consumes_both_queues():
    make = shutil.which("make")
    if not make:
        pytest.fail("make not found on PATH")
    result = subprocess.run(
        [make, "-n", "--no-print-directory", "worker"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    (command,) = [c for line in result.stdout.splitlines() for c in worker_commands(shell_words(line))]
    assert command[:3] == [".venv/bin/celery", "-A", "config"]
    assert queues(command) == BOTH


def _compose_command(service: dict) -> list[str]:
    command = service.get("command") or []
    tokens = shell_words(command) if isinstance(command, str) else list(command)
    if tokens[:2] == ["sh", "-c"]:
        return shell_words(tokens[2])
    return tokens


def test_every_compose_worker_consumes_both_queues():
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    workers = {name: worker_commands(_compose_command(service)) for name, service in services.items()}
    workers = {name: commands for name, commands in workers.items() if commands}
    assert set(workers) == {"worker"}
    for name, commands in workers.items():
        for command in commands:
            assert queues(command) == BOTH, name


def _kubernetes_workers(objects: list[dict]) -> dict[str, list[str]]:
    """Deployment name -> the worker command of its container."""
    result = {}
    for workload in objects:
        if workload["kind"] not in ("Deployment", "Job"):
            continue
        for container in workload["spec"]["template"]["spec"]["containers"]:
            for command in worker_commands([*container.get("command", []), *container.get("args", [])]):
                result[workload["metadata"]["name"]] = command
    return result


@pytest.mark.parametrize("env_name", sorted(ENVIRONMENTS))
def test_every_kubernetes_worker_consumes_the_periodic_queue(built, env_name):
    objects = built[env_name]
    workers = _kubernetes_workers(objects)
    assert set(workers) == {"erp-worker", "erp-worker-periodic"}
    for name, command in workers.items():
        assert settings.CELERY_PERIODIC_QUEUE in queues(command), name
    # The workers take every task; a backlog of deliveries may keep all their slots busy.
    assert queues(workers["erp-worker"]) == BOTH
    # So a worker of its own keeps one slot for beat's tasks only: a sweep due during a
    # backlog waits for nothing but the periodic task before it.
    assert queues(workers["erp-worker-periodic"]) == {settings.CELERY_PERIODIC_QUEUE}
    assert concurrency(workers["erp-worker-periodic"]) == 1
    assert one(objects, "Deployment", "erp-worker-periodic")["spec"]["replicas"] >= 1


def test_the_parser_reads_every_way_to_name_the_queues():
    assert queues(["celery", "-A", "config", "worker"]) == {"celery"}
    assert queues(["celery", "worker", "-Q", "a,b"]) == {"a", "b"}
    assert queues(["celery", "worker", "-Qa"]) == {"a"}
    assert queues(["celery", "worker", "--queues=a,b"]) == {"a", "b"}
    assert concurrency(["celery", "worker", "-c", "3"]) == 3
    assert concurrency(["celery", "worker", "--concurrency=1"]) == 1
    script = shell_words("mkdir -p /tmp/x && X=1 exec /usr/bin/celery -A config worker -Q q; echo done")
    assert worker_commands(script) == [["/usr/bin/celery", "-A", "config", "worker", "-Q", "q"]]
    assert worker_commands(shell_words("celery -A config beat")) == []
