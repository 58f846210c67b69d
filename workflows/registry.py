"""Definitions are the WorkflowDefinition subclasses that exist in the process.

The app that owns a definition imports its ``workflows.py`` from its
``AppConfig.ready()``; defining the class registers it, so domain apps need
nothing of ``workflows`` but its contract.
"""

from workflows.contract import UnknownDefinitionError, WorkflowDefinition


def _concrete(cls: type) -> list[type[WorkflowDefinition]]:
    found = []
    for sub in cls.__subclasses__():
        named = "name" in vars(sub) or any("name" in vars(base) for base in sub.__mro__[1:-1])
        if named and getattr(sub, "steps", None):
            found.append(sub)
        found.extend(_concrete(sub))
    return found


def _index() -> dict[tuple[str, int], type[WorkflowDefinition]]:
    index: dict[tuple[str, int], type[WorkflowDefinition]] = {}
    for definition in _concrete(WorkflowDefinition):
        key = (definition.name, definition.version)
        if key in index and index[key] is not definition:
            raise ValueError(f"two definitions claim {definition.name} v{definition.version}")
        index[key] = definition
    return index


def validate_definition(definition: type[WorkflowDefinition]) -> None:
    names = [step.name for step in definition.steps]
    if definition.start not in names or len(set(names)) != len(names):
        raise ValueError(f"workflow {definition.name}: start step missing or step names repeated")


def get(name: str, version: int | None = None) -> type[WorkflowDefinition]:
    index = _index()
    if version is None:
        versions = [v for (n, v) in index if n == name]
        if not versions:
            raise UnknownDefinitionError(f"unknown workflow definition {name!r}")
        version = max(versions)
    try:
        return index[(name, version)]
    except KeyError as exc:
        raise UnknownDefinitionError(f"workflow {name!r} has no version {version}") from exc


def all_definitions() -> list[type[WorkflowDefinition]]:
    index = _index()
    return [index[key] for key in sorted(index)]
