"""Celery app module of the benchmark's worker
(``celery -A bench.workflows.worker_app worker``): the project's app (which
autodiscovers ``workflows.tasks.advance_run``), plus the benchmark's definition
and baseline tasks from ``bench.workflows.definitions``.

The bench process imports it too (to start runs of the definition and send chains).
"""

from bench.workflows import definitions  # registers bench_three_steps and bench.step_*
from config.celery import app

__all__ = ["app", "definitions"]
