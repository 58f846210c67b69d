from django.apps import AppConfig


class VendasConfig(AppConfig):
    name = "vendas"
    verbose_name = "Vendas (sales)"

    def ready(self) -> None:
        from vendas import subscribers, workflows  # noqa: F401 - registers them
