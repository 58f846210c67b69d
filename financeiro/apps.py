from django.apps import AppConfig


class FinanceiroConfig(AppConfig):
    name = "financeiro"
    verbose_name = "Financeiro (accounting)"

    def ready(self) -> None:
        from financeiro import subscribers, workflows  # noqa: F401 - registers them
