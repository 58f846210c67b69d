from django.apps import AppConfig


class ErpConfig(AppConfig):
    name = "erp"
    verbose_name = "Platform kernel"

    def ready(self) -> None:
        from erp import checks, metrics, relay  # noqa: F401 - connects the relay and system checks

        metrics.register_collectors()
