from django.apps import AppConfig


class ErpConfig(AppConfig):
    name = "erp"
    verbose_name = "Platform kernel"

    def ready(self) -> None:
        # relay: connects to publish(); tasks: registers the relay's Celery tasks, which
        # the relay sends by name (eager mode runs them here); checks: system checks.
        from erp import access, checks, metrics, relay, tasks  # noqa: F401

        metrics.register_collectors()
