"""Celery app module for the real test worker: the project's app plus the
test-only subscribers and workflow definitions (``celery -A tests.erp.event_worker worker``)."""

from config.celery import app
from tests.erp import event_subscribers  # noqa: F401 - registers the test subscribers
from tests.workflows import sample  # noqa: F401 - test-only workflow definitions

__all__ = ["app"]
