"""Definitions are the WorkflowDefinition subclasses that exist in the process.

The app that owns a definition imports its ``workflows.py`` from its
``AppConfig.ready()``; defining the class checks and registers it (see the
contract), so domain apps need nothing of ``workflows`` but its contract.

The contract cannot know the project's roles, so the rules that need them are
checked here: by a system check at start-up (workflows/checks.py) and on every
look-up, so a run never starts on a definition whose human steps nobody may
answer.
"""

from erp.permissions import ROLES
from workflows.contract import InvalidDefinitionError, UnknownDefinitionError, WorkflowDefinition


def _concrete(cls: type) -> list[type[WorkflowDefinition]]:
    found = []
    for sub in cls.__subclasses__():
        # Set by WorkflowDefinition.__init_subclass__ once the class passed its
        # checks; a class whose creation raised may linger until garbage collection.
        if vars(sub).get("_workflow_registered"):
            found.append(sub)
        found.extend(_concrete(sub))
    return found


def _index() -> dict[tuple[str, int], type[WorkflowDefinition]]:
    index: dict[tuple[str, int], type[WorkflowDefinition]] = {}
    for definition in _concrete(WorkflowDefinition):
        key = (definition.name, definition.version)
        if key in index and index[key] is not definition:
            raise InvalidDefinitionError(
                f"two definitions claim workflow {definition.name!r} v{definition.version}: "
                f"{index[key].__module__}.{index[key].__qualname__} and "
                f"{definition.__module__}.{definition.__qualname__}"
            )
        index[key] = definition
    return index


def role_problems(definition: type[WorkflowDefinition]) -> list[str]:
    """HumanStep roles that are not project roles (erp.permissions.ROLES)."""
    problems = []
    for step in definition.steps:
        unknown = [role for role in getattr(step, "roles", ()) if role not in ROLES]
        if unknown:
            problems.append(
                f"step {step.name!r}: unknown roles {', '.join(map(repr, unknown))} (roles: {', '.join(ROLES)})"
            )
    return problems


def check(definition: type[WorkflowDefinition]) -> None:
    """Raise InvalidDefinitionError if ``definition`` breaks a rule the contract cannot check."""
    problems = role_problems(definition)
    if problems:
        raise InvalidDefinitionError(
            f"workflow {definition.name!r} v{definition.version} "
            f"({definition.__module__}.{definition.__qualname__}): " + "; ".join(problems)
        )


def problems() -> list[str]:
    """Every problem of every registered definition (for the system check)."""
    try:
        definitions = list(_index().values())
    except InvalidDefinitionError as exc:
        return [str(exc)]
    found = []
    for definition in definitions:
        try:
            check(definition)
        except InvalidDefinitionError as exc:
            found.append(str(exc))
    return found


def get(name: str, version: int | None = None) -> type[WorkflowDefinition]:
    index = _index()
    if version is None:
        versions = [v for (n, v) in index if n == name]
        if not versions:
            raise UnknownDefinitionError(f"Unknown workflow definition {name!r}.")
        version = max(versions)
    try:
        definition = index[(name, version)]
    except KeyError as exc:
        raise UnknownDefinitionError(f"Workflow {name!r} has no version {version}.") from exc
    check(definition)
    return definition


def all_definitions() -> list[type[WorkflowDefinition]]:
    index = _index()
    return [index[key] for key in sorted(index)]
