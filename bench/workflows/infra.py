"""What one run of this benchmark sets up beyond ``bench.common.infra``: its
database and cache, and its Celery worker (no beat). Imports nothing of Django
(the parent process uses it before ``django.setup()``)."""

from __future__ import annotations

from pathlib import Path

from bench.common import infra
from bench.common.infra import WORKER_CONCURRENCY

DATABASE = "erp_bench_workflows"
CACHE_URL = "redis://127.0.0.1:6379/7"
WORKER_APP = "bench.workflows.worker_app"


def django_env() -> dict[str, str]:
    """The environment of the bench process's Django and of the worker
    (``infra.django_env``, which also keeps a WORKFLOWS_DATABASE_URL of the
    shell out); CELERY_BROKER_URL is added once the broker runs."""
    return infra.django_env(database=DATABASE, cache_url=CACHE_URL, **infra.WORKER_ENV)


def worker(env: dict[str, str], log_path: Path) -> infra.CeleryWorker:
    return infra.CeleryWorker(
        WORKER_APP,
        env,
        log_path,
        node_prefix="bench-wf",
        description=(
            f"celery -A {WORKER_APP} worker --pool prefork --concurrency {WORKER_CONCURRENCY} (no beat), "
            "acks_late, prefetch multiplier 1, DB_CONN_MAX_AGE default"
        ),
    )
