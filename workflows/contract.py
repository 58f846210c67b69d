"""Public surface of ``workflows``: the base classes domain apps write their
definitions with, and the service Protocol to start and read runs.

A definition is a class with a name, a version, an input schema (JSON Schema) and
steps. An :class:`AutoStep` runs in a Celery task and returns a state update; a
:class:`HumanStep` pauses the run until someone with one of its roles answers
with input matching its schema (or its deadline passes). ``next`` names the step
that follows, or is a function of the state (a branch); ``None`` ends the run.

Imports nothing of the app and no framework.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar, Protocol
from uuid import UUID

State = dict[str, Any]
Next = str | Callable[[State], str | None] | None


@dataclass(frozen=True)
class AutoStep:
    """Runs ``run(state)`` in a worker; its returned dict is merged into the state.

    The step runs in the same database transaction that records its completion,
    so an effect written to the workflows database happens once even if a worker
    dies; an effect elsewhere must be idempotent by ``(thread_id, step)``."""

    name: str
    run: Callable[[State], Mapping[str, Any] | None]
    next: Next = None


@dataclass(frozen=True)
class HumanStep:
    """Waits for input from a user holding one of ``roles``.

    ``forbid_starter`` enforces maker ≠ checker: the user who started the run may
    not answer. After ``deadline`` the run goes to ``on_deadline`` (a step name),
    or fails when that is None."""

    name: str
    prompt: str
    input_schema: Mapping[str, Any]
    roles: tuple[str, ...]
    next: Next = None
    forbid_starter: bool = False
    deadline: timedelta | None = None
    on_deadline: str | None = None
    store_as: str | None = None  # state key for the input (default: the step name)


class WorkflowDefinition:
    """Subclass per definition (and per version: bump ``version`` and keep the
    old class registered while runs of it are in flight)."""

    name: ClassVar[str]
    version: ClassVar[int] = 1
    description: ClassVar[str] = ""
    input_schema: ClassVar[Mapping[str, Any]] = {"type": "object"}
    start: ClassVar[str]
    steps: ClassVar[tuple[AutoStep | HumanStep, ...]]

    @classmethod
    def step(cls, name: str) -> AutoStep | HumanStep:
        for step in cls.steps:
            if step.name == name:
                return step
        raise KeyError(f"{cls.name} v{cls.version} has no step {name!r}")


@dataclass(frozen=True)
class RunInfo:
    thread_id: UUID
    definition: str
    version: int
    status: str  # running | waiting | completed | failed | cancelled
    state: Mapping[str, Any]
    waiting_for: Mapping[str, Any] | None
    result: Mapping[str, Any] | None
    error: str
    created_at: datetime
    updated_at: datetime


class WorkflowError(Exception):
    pass


class UnknownDefinitionError(WorkflowError):
    pass


class InvalidInputError(WorkflowError):
    def __init__(self, message: str, errors: list[dict[str, str]] | None = None):
        super().__init__(message)
        self.errors = errors or []


class RunNotFoundError(WorkflowError):
    pass


class NotWaitingError(WorkflowError):
    """The run is not waiting for input (or not in a state that allows this)."""


class NotAllowedError(WorkflowError):
    """The caller may not answer this step (role, or maker ≠ checker)."""


class WorkflowService(Protocol):
    def start(self, *, definition: str, input: Mapping[str, Any], started_by: UUID | None) -> RunInfo: ...

    def get(self, *, thread_id: UUID) -> RunInfo: ...
