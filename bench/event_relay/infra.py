"""What one run of this benchmark sets up beyond ``bench.common.infra``: its
database and cache, its Celery worker (with embedded beat) and its tables' end."""

from __future__ import annotations

from pathlib import Path

import psycopg

from bench.common import infra
from bench.common.infra import WORKER_CONCURRENCY

DATABASE = "erp_bench_events"
CACHE_URL = "redis://127.0.0.1:6379/6"
WORKER_APP = "bench.event_relay.worker_app"


def django_env() -> dict[str, str]:
    """The environment of the session processes and of the worker
    (``infra.django_env``); CELERY_BROKER_URL is added per broker."""
    return infra.django_env(database=DATABASE, cache_url=CACHE_URL, **infra.WORKER_ENV)


def drop_tables() -> None:
    """End of the benchmark: the relay's tables emptied, the benchmark's dropped."""
    from bench.event_relay.tables import BENCH_TABLES, RELAY_TABLES

    with psycopg.connect(infra.postgres_dsn(DATABASE), autocommit=True) as conn:
        conn.execute(f"TRUNCATE {', '.join(RELAY_TABLES)} CASCADE")
        for table in BENCH_TABLES:
            conn.execute(f"DROP TABLE IF EXISTS {table}")


def worker(env: dict[str, str], broker_url: str, log_path: Path, workdir: Path) -> infra.CeleryWorker:
    """``celery -A bench.event_relay.worker_app worker -B``: the embedded beat runs
    the relay's sweep, as in production."""
    return infra.CeleryWorker(
        WORKER_APP,
        {**env, "CELERY_BROKER_URL": broker_url},
        log_path,
        node_prefix="bench",
        beat_schedule=workdir / "celerybeat-schedule",
        description=(
            f"celery worker --pool prefork --concurrency {WORKER_CONCURRENCY} -B (embedded beat), "
            "acks_late, prefetch multiplier 1, DB_CONN_MAX_AGE default"
        ),
    )
