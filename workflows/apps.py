from django.apps import AppConfig


class WorkflowsConfig(AppConfig):
    name = "workflows"
    verbose_name = "Workflows"

    def ready(self) -> None:
        # The engine sends its tasks by name (services does not import tasks);
        # registering them in every process lets eager mode (no broker) run them.
        from workflows import (
            checks,  # noqa: F401 - registers the definitions' system check
            tasks,  # noqa: F401
        )
