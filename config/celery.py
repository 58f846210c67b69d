"""The Celery app. Settings come from Django's (CELERY_* names); see
config/settings.py for the at-least-once choices and README for worker/beat."""

import logging
import os
import time
from pathlib import Path

from celery import Celery
from celery.beat import PersistentScheduler
from celery.signals import beat_init, task_prerun, worker_init, worker_process_shutdown
from django_structlog.celery.steps import DjangoStructLogInitStep

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("erp")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Worker logs bind task_id (and the task name) like web logs bind request_id.
app.steps["worker"].add(DjangoStructLogInitStep)


# A busy worker runs many short tasks a second; checking its connections before
# each one (as Django does per request) costs a round trip per task. They are
# checked at most this often, and always right after a database error.
CONNECTION_CHECK_INTERVAL_S = 1.0
_connections_checked_at = -CONNECTION_CHECK_INTERVAL_S


@task_prerun.connect
def drop_stale_connections(task=None, **kwargs) -> None:
    """Like a request start: close connections past CONN_MAX_AGE or unusable
    (in a worker only: an eager task runs inside its caller's transaction)."""
    from django.db import close_old_connections, connections

    global _connections_checked_at
    if task is not None and task.request.is_eager:
        return
    now = time.monotonic()
    recently_checked = now - _connections_checked_at < CONNECTION_CHECK_INTERVAL_S
    if recently_checked and not any(c.errors_occurred for c in connections.all(initialized_only=True)):
        return
    _connections_checked_at = now
    close_old_connections()


# Set in a worker before it forks its embedded beat (`worker -B`), so that beat
# leaves the port to the worker's server: that process is probed as the worker.
_in_worker = False


def _serve_http(port: int, liveness=None) -> None:
    """Serve this process's Prometheus metrics (prefork children included when
    PROMETHEUS_MULTIPROC_DIR is set: prometheus_client's multiprocess mode) and
    its /healthz and /readyz probes on ``port`` (0: nothing)."""
    from prometheus_client import REGISTRY, CollectorRegistry, multiprocess

    from erp.worker_http import serve

    if not port:
        return
    registry = REGISTRY
    shared_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if shared_dir:
        for stale in Path(shared_dir).glob("*.db"):  # counters restart with the process
            stale.unlink()
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    try:
        serve(port, registry, liveness=liveness)
    except OSError as exc:  # a busy port must not keep the process from working
        logging.getLogger(__name__).error("metrics and probe server on port %s not started: %s", port, exc)


@worker_init.connect
def start_metrics_exporter(**kwargs) -> None:
    from django.conf import settings

    global _in_worker
    _in_worker = True
    _serve_http(settings.WORKER_METRICS_PORT)


class WatchedScheduler(PersistentScheduler):
    """Beat's scheduler (CELERY_BEAT_SCHEDULER), noting each tick so that beat's
    /healthz fails, and Kubernetes restarts it, when it stops scheduling while
    its process still answers."""

    ticked_at = time.monotonic()

    def tick(self, *args, **kwargs):
        WatchedScheduler.ticked_at = time.monotonic()
        return super().tick(*args, **kwargs)


def beat_stalled() -> str | None:
    """Beat ticks at least every CELERY_BEAT_MAX_LOOP_INTERVAL seconds; four
    intervals without a tick means the scheduler is stuck."""
    from django.conf import settings

    silent = time.monotonic() - WatchedScheduler.ticked_at
    if silent > 4 * settings.CELERY_BEAT_MAX_LOOP_INTERVAL:
        return f"beat has not ticked for {silent:.0f} s"
    return None


@beat_init.connect
def start_beat_exporter(**kwargs) -> None:
    """`celery beat` gets the same server, on its own port, for its probes."""
    from django.conf import settings

    if _in_worker:
        return
    WatchedScheduler.ticked_at = time.monotonic()
    _serve_http(settings.BEAT_METRICS_PORT, liveness=beat_stalled)


@worker_process_shutdown.connect
def forget_dead_process(pid=None, **kwargs) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)
