from django.apps import AppConfig


class EstoqueConfig(AppConfig):
    name = "estoque"
    verbose_name = "Estoque (inventory)"

    def ready(self) -> None:
        from estoque import subscribers, workflows  # noqa: F401 - registers them
