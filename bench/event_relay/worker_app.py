"""Celery app module of the benchmark's worker
(``celery -A bench.event_relay.worker_app worker``): the project's app, the
``bench.write_row`` subscriber and the baseline tasks.

The bench process imports it too, to send the tasks with ``apply_async`` and to
register the subscriber (so ``publish()`` creates its Delivery).
"""

from django.db import connection

from bench.event_relay import shared  # also registers the bench.write_row subscriber
from config.celery import app


@app.task(name="bench.noop")
def noop(published_at: float) -> None:
    """Truly nothing: the cost of a Celery task round trip alone."""
    return None


@app.task(name="bench.insert_row")
def insert_row(published_at: float) -> None:
    """One INSERT (autocommit), like the relay subscriber's effect."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {shared.TASK_EFFECTS} (published_at) VALUES (%s)",  # noqa: S608
            [published_at],
        )


@app.task(name="bench.mark")
def mark(run_id: str) -> None:
    """Sent after the N no-op tasks: its row tells when the queue has been worked off."""
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {shared.MARKERS} (run_id) VALUES (%s)", [run_id])  # noqa: S608


__all__ = ["app", "insert_row", "mark", "noop"]
