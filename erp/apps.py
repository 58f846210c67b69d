from django.apps import AppConfig
from django.core.signals import request_started


class ErpConfig(AppConfig):
    name = "erp"
    verbose_name = "Platform kernel"

    def ready(self) -> None:
        # relay: connects to publish(); tasks: registers the relay's Celery tasks, which
        # the relay sends by name (eager mode runs them here); checks: system checks.
        from erp import access, checks, metrics, relay, tasks  # noqa: F401

        metrics.register_collectors()
        # The quick start's sweep (no beat) starts with the first request, not here:
        # migrate, check and the tests run ready() too and must not sweep.
        request_started.connect(_start_sweeper, dispatch_uid="erp.sweeper.ensure_started")


def _start_sweeper(sender, **kwargs) -> None:
    from erp import relay, sweeper

    sweeper.ensure_started(relay.sweep)  # nothing unless Celery is eager and EVENTS_EMBEDDED_SWEEP is on
