"""Where a run's time goes, measured in the bench process (no worker involved).

For ``n`` runs of bench_three_steps: ``run_start`` and then ``services.advance``
are called in-process, with ``workflows.services.send_advance`` replaced by a
counter (so nothing reaches the broker; how often the engine asks for it is
recorded). Every SQL statement is timed through ``connection.execute_wrapper``
and put in a category; COMMIT is timed by wrapping the connection's ``_commit``.
The connection is handled as the worker's is: Celery's Django fixup closes it
around every task unless ``CELERY_DB_REUSE_MAX`` is set, so without that setting
it is closed and reopened before each ``advance`` (the reconnect is timed on its
own either way). The Python time of the engine is what is left of ``advance``
after SQL and COMMIT.

A cProfile of the ``advance`` calls goes to bench/results/workflows.profile.txt.

Nothing in ``workflows/`` is changed: the patches live only for the duration of
``profile()`` and only in this process. Import after ``django.setup()``.
"""

from __future__ import annotations

import cProfile
import re
import statistics
import time
from pathlib import Path
from unittest import mock

from django.conf import settings
from django.db import connection

from bench.common.sqlprofile import StatementTimer, write_profile
from bench.workflows import definitions
from workflows import services

CATEGORIES = (
    ("select_for_update", re.compile(r"^SELECT .* FOR UPDATE", re.S)),
    ("checkpoint_seq_lookup", re.compile(r'^SELECT .*"workflows_checkpoint".*ORDER BY', re.S)),
    ("savepoint", re.compile(r"^(SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO SAVEPOINT)")),
    ("insert_run", re.compile(r'^INSERT INTO "workflows_workflowrun"')),
    ("update_run", re.compile(r'^UPDATE "workflows_workflowrun"')),
    ("insert_checkpoint", re.compile(r'^INSERT INTO "workflows_checkpoint"')),
    ("insert_outbox", re.compile(r'^INSERT INTO "erp_outboxevent"')),
    ("insert_delivery", re.compile(r'^INSERT INTO "erp_delivery"')),
)


def _per_run(rec: StatementTimer, phase: str, n: int) -> dict[str, dict[str, float]]:
    return {
        cat: {"per_run": row["per_call"], "ms_per_run": row["ms_per_call"]}
        for cat, row in rec.per_call(phase, n).items()
    }


def _start_runs(n: int) -> list:
    return [
        services.run_start(definition=definitions.DEFINITION, input={}, started_by=None).thread_id
        for _ in range(n)
    ]


def profile(n: int, profile_path: Path) -> dict:
    rec = StatementTimer(CATEGORIES)
    rec.phase = "start"
    start_s: list[float] = []
    advance_s: list[float] = []
    connect_s: list[float] = []
    thread_ids = []
    reconnect_per_task = not getattr(settings, "CELERY_DB_REUSE_MAX", None)
    with (
        mock.patch.object(services, "send_advance") as delay,
        rec.recording(connection),
    ):
        connection.ensure_connection()
        for _ in range(n):
            a = time.perf_counter()
            run = services.run_start(definition=definitions.DEFINITION, input={}, started_by=None)
            start_s.append(time.perf_counter() - a)
            thread_ids.append(run.thread_id)
        delays_at_start = delay.call_count
        rec.phase = "advance"
        for thread_id in thread_ids:
            if reconnect_per_task:  # as Celery's Django fixup does around each task then
                connection.close()
                connection.ensure_connection()
            a = time.perf_counter()
            outcome = services.advance(thread_id)
            advance_s.append(time.perf_counter() - a)
            if outcome != "completed":
                raise RuntimeError(f"profile: run {thread_id} ended {outcome!r}")
        delays_total = delay.call_count

    # One extra advance_run of an already completed run: the engine's part of
    # what each redundant task costs (lock + COMMIT; plus a reconnect when the
    # worker closes connections per task).
    redundant_s: list[float] = []
    with mock.patch.object(services, "send_advance"):
        for thread_id in thread_ids[: min(n, 100)]:
            if reconnect_per_task:
                connection.close()
                connection.ensure_connection()
            a = time.perf_counter()
            services.advance(thread_id)
            redundant_s.append(time.perf_counter() - a)
        # cProfile on runs of their own (its overhead stays out of the timings above).
        profiler = cProfile.Profile()
        profiled = _start_runs(min(n, 100))
        profiler.enable()
        for thread_id in profiled:
            services.advance(thread_id)
        profiler.disable()
    # What opening a connection costs (Django connect + session setup).
    for _ in range(min(n, 50)):
        connection.close()
        a = time.perf_counter()
        connection.ensure_connection()
        connect_s.append(time.perf_counter() - a)

    adv_sql = rec.sql_seconds("advance")
    start_sql = rec.sql_seconds("start")
    write_profile(
        profiler,
        profile_path,
        f"cProfile of services.advance() over {len(profiled)} runs of {definitions.DEFINITION} "
        "(in-process, services.send_advance patched out)",
        top=25,
    )
    med = statistics.median
    return {
        "runs": n,
        "celery_db_reuse_max": getattr(settings, "CELERY_DB_REUSE_MAX", None),
        "reconnect_before_each_advance": reconnect_per_task,
        "advance_run_delay_calls_per_run": {
            "by_run_start": round(delays_at_start / n, 2),
            "by_advance": round((delays_total - delays_at_start) / n, 2),
        },
        "run_start": {
            "ms_p50": round(med(start_s) * 1000, 3),
            "statements_per_run": round(rec.statements("start") / n, 2),
            "sql_and_commit_ms_per_run": round(start_sql / n * 1000, 3),
            "python_ms_per_run": round((sum(start_s) - start_sql) / n * 1000, 3),
            "by_category": _per_run(rec, "start", n),
        },
        "advance": {
            "ms_p50": round(med(advance_s) * 1000, 3),
            "statements_per_run": round(rec.statements("advance") / n, 2),
            "sql_and_commit_ms_per_run": round(adv_sql / n * 1000, 3),
            "python_ms_per_run": round((sum(advance_s) - adv_sql) / n * 1000, 3),
            "by_category": _per_run(rec, "advance", n),
        },
        "reconnect_ms_p50": round(med(connect_s) * 1000, 3),
        "redundant_advance_ms_p50": round(med(redundant_s) * 1000, 3),
        "profile_file": str(profile_path),
    }
