"""Figures read from the database and the broker by a bench process whose Django
is set up (import after ``django.setup()``)."""

from __future__ import annotations

from django.db import connection


def check_broker(app, url: str) -> None:
    """Make sure ``app`` really sends to ``url``: never eagerly in-process, never to
    a stray broker; and that the broker answers."""
    app.conf.task_always_eager = False
    if app.conf.broker_url != url:
        raise RuntimeError(f"the Celery app points at {app.conf.broker_url!r}, not {url!r}")
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=3)


def queue_ready(app) -> int:
    """Messages still waiting in the default ``celery`` queue (not counting ones a
    worker holds unacknowledged): a sanity check after a run, expected 0."""
    with app.connection_for_write() as conn:
        try:
            return conn.default_channel.queue_declare(queue="celery", passive=True).message_count
        except Exception:  # noqa: BLE001 - the queue does not exist (yet): nothing waits
            return 0


def db_sessions() -> int:
    """Connections ever opened to the benchmark database (pg_stat_database.sessions,
    PostgreSQL 14+; -1 when unavailable): the delta over a run shows how many
    PostgreSQL connections its messages cost."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
            return int(cursor.fetchone()[0])
    except Exception:  # noqa: BLE001 - older PostgreSQL: no such column
        return -1


def require_plain_django(connection_, app_label: str) -> None:
    """A bench process measures production settings: DEBUG off (it would keep
    every query), ``app_label`` on PostgreSQL, no broker (nothing leaves the
    process)."""
    from celery import current_app
    from django.conf import settings

    if settings.DEBUG:
        raise RuntimeError("DEBUG is on: every query would be kept in memory")
    if connection_.vendor != "postgresql":
        raise RuntimeError(f"{app_label}'s database is {connection_.vendor}, not PostgreSQL")
    if settings.CELERY_BROKER_URL or not current_app.conf.task_always_eager:
        raise RuntimeError("a Celery broker is configured; the bench runs without one")
