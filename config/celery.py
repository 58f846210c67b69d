"""The Celery app. Settings come from Django's (CELERY_* names); see
config/settings.py for the at-least-once choices and README for worker/beat."""

import os

from celery import Celery
from django_structlog.celery.steps import DjangoStructLogInitStep

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("erp")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Worker logs bind task_id (and the task name) like web logs bind request_id.
app.steps["worker"].add(DjangoStructLogInitStep)
