"""System check: every registered workflow definition is sound, including the
rules the contract cannot check (roles). Django runs it with ``manage.py
check``, ``migrate`` and ``runserver``, i.e. before a deployment serves."""

from django.core import checks

from workflows import registry


@checks.register("workflows")
def check_definitions(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    return [
        checks.Error(problem, hint="Fix the definition in the app that owns it.", id="workflows.E001")
        for problem in registry.problems()
    ]
