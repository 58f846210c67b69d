"""Public surface of ``workflows``: the base classes domain apps write their
definitions with, the errors the engine raises, and the service Protocol to
start, read, signal and cancel runs.

A definition is a class with a name, a version, an input schema (JSON Schema) and
steps:

* :class:`AutoStep` runs ``run(state, ctx)`` in a Celery task and returns a state
  update;
* :class:`HumanStep` pauses the run until someone with one of its roles answers
  with input matching its schema (``POST .../continue/``), or its deadline passes;
* :class:`WaitStep` pauses the run until code delivers the named signal
  (``WorkflowService.signal``: another app learnt that the goods arrived), or its
  deadline passes.

``next`` names the step that follows, or is a function of the state (a branch);
``None`` ends the run. A branch may declare the steps it can reach
(``branches=("a", "b")``); without that it counts as able to reach any step.

Definitions are checked when the class is created (so a broken one fails at
import, i.e. at start-up): every step name is unique, ``start``, each string
``next``/``on_deadline`` and each of ``branches`` name a step, every step is
reachable from ``start``, ``AutoStep.run`` takes ``(state, ctx)``, and every
JSON Schema is valid. HumanStep roles are checked against the project's roles
by the engine (a system check at start-up, and on every look-up).

Imports nothing of the app, no framework, and only ``erp.errors`` of the kernel.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar, Protocol
from uuid import UUID

import jsonschema

from erp.errors import ConflictError, DomainError, FieldError, ForbiddenError, InvalidError, NotFoundError

State = dict[str, Any]
Next = str | Callable[[State], str | None] | None


@dataclass(frozen=True)
class StepContext:
    """What an AutoStep knows about the moment it runs.

    ``idempotency_key`` (``workflows:<thread_id>:<step>``) is the key to give an
    effect outside the workflows database (another app's service, an e-mail):
    a step can run more than once (a worker killed mid-step, an admin retry),
    and the key is the same every time. ``attempt`` starts at 1 and grows with
    each admin retry of a failed step (a crashed attempt rolled back, so a
    redelivery sees the same number). ``state`` is the run's state before the
    step, read-only."""

    thread_id: UUID
    step: str
    definition: str
    version: int
    attempt: int
    state: Mapping[str, Any]

    @property
    def idempotency_key(self) -> str:
        return f"workflows:{self.thread_id}:{self.step}"


StepFunction = Callable[[State, StepContext], Mapping[str, Any] | None]


@dataclass(frozen=True)
class AutoStep:
    """Runs ``run(state, ctx)`` in a worker; its returned dict is merged into the state.

    The step runs in the same database transaction that records its completion,
    so an effect written to the workflows database happens once even if a worker
    dies; an effect elsewhere must be idempotent by ``ctx.idempotency_key``."""

    name: str
    run: StepFunction
    next: Next = None
    branches: tuple[str, ...] = ()  # the steps a callable ``next`` may return


@dataclass(frozen=True)
class HumanStep:
    """Waits for input from a user holding one of ``roles``.

    ``forbid_starter`` enforces maker ≠ checker: the user who started the run may
    not answer. ``actor_as`` names a state key that receives the answering
    user's id (text), for the steps that act on their behalf.
    ``forbid_actors`` names a state key holding a user id (text) or a list of
    them who may not answer either, whatever their roles (the creator of the
    document the run is about, when someone else started the run). After
    ``deadline`` the run goes to ``on_deadline`` (a step name), or fails when
    that is None."""

    name: str
    prompt: str
    input_schema: Mapping[str, Any]
    roles: tuple[str, ...]
    next: Next = None
    forbid_starter: bool = False
    deadline: timedelta | None = None
    on_deadline: str | None = None
    store_as: str | None = None  # state key for the input (default: the step name)
    branches: tuple[str, ...] = ()
    actor_as: str | None = None
    forbid_actors: str | None = None


@dataclass(frozen=True)
class WaitStep:
    """Waits for the signal ``signal``, delivered from code with
    ``WorkflowService.signal(thread_id=..., name=signal, payload=...)``.

    The payload (an object, ``{}`` when none is given) must match ``schema`` when
    one is set, and is stored in the state under ``store_as`` (default: the step
    name). Users cannot answer it through the API (409 ``signal_step``). After
    ``deadline`` the run goes to ``on_deadline``, or fails when that is None."""

    name: str
    signal: str
    next: Next = None
    deadline: timedelta | None = None
    on_deadline: str | None = None
    schema: Mapping[str, Any] | None = None
    store_as: str | None = None
    branches: tuple[str, ...] = ()


Step = AutoStep | HumanStep | WaitStep


class InvalidDefinitionError(ValueError):
    """A definition breaks a rule (raised at class creation or look-up: a bug in
    the app that owns it, never a client error)."""


class WorkflowDefinition:
    """Subclass per definition (and per version: bump ``version`` and keep the
    old class registered while runs of it are in flight). Creating the class
    checks it and registers it; an abstract base without ``name`` and ``steps``
    is neither checked nor registered."""

    name: ClassVar[str]
    version: ClassVar[int] = 1
    description: ClassVar[str] = ""
    input_schema: ClassVar[Mapping[str, Any]] = {"type": "object"}
    start: ClassVar[str]
    steps: ClassVar[tuple[Step, ...]]

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if not (getattr(cls, "name", None) and getattr(cls, "steps", None)):
            return
        check_definition(cls)
        # Marks the class as registered; the registry indexes only marked
        # classes, so one that failed its checks is never found.
        cls._workflow_registered = True

    @classmethod
    def step(cls, name: str) -> Step:
        for step in cls.steps:
            if step.name == name:
                return step
        raise KeyError(f"{cls.name} v{cls.version} has no step {name!r}")


def _accepts(function: Any, count: int) -> bool:
    try:
        inspect.signature(function).bind(*([None] * count))
    except TypeError:
        return False
    except ValueError:  # no signature (some builtins): trust it
        return True
    return True


def _targets(step: Step) -> tuple[list[str], bool]:
    """The step names ``step`` leads to, and whether it may lead anywhere (a
    callable ``next`` without ``branches``)."""
    targets = list(step.branches)
    anywhere = callable(step.next) and not step.branches
    if isinstance(step.next, str):
        targets.append(step.next)
    on_deadline = getattr(step, "on_deadline", None)
    if on_deadline is not None:
        targets.append(on_deadline)
    return targets, anywhere


def _schema_problem(where: str, schema: Any) -> str | None:
    if not isinstance(schema, Mapping):
        return f"{where} must be a JSON Schema object, not {type(schema).__name__}"
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        return f"{where} is not a valid JSON Schema: {exc.message}"
    return None


def _step_problems(step: Any, names: set[str]) -> list[str]:
    if not isinstance(step, (AutoStep, HumanStep, WaitStep)):
        return [f"{step!r} is not an AutoStep, HumanStep or WaitStep"]
    where = f"step {step.name!r}"
    problems = []
    if isinstance(step.next, str) and step.next not in names:
        problems.append(f"{where}: next {step.next!r} names no step")
    if step.next is not None and not isinstance(step.next, str):
        if not callable(step.next):
            problems.append(f"{where}: next must be a step name, a function of the state or None")
        elif not _accepts(step.next, 1):
            problems.append(f"{where}: a callable next must take one argument (the state)")
    problems += [f"{where}: branch {b!r} names no step" for b in step.branches if b not in names]
    if isinstance(step, AutoStep):
        if not callable(step.run) or not _accepts(step.run, 2):
            problems.append(f"{where}: run must be a function taking (state, ctx)")
        return problems
    if step.on_deadline is not None and step.on_deadline not in names:
        problems.append(f"{where}: on_deadline {step.on_deadline!r} names no step")
    if step.on_deadline is not None and step.deadline is None:
        problems.append(f"{where}: on_deadline is set but deadline is not")
    if isinstance(step, HumanStep):
        if not step.roles or isinstance(step.roles, str) or not all(isinstance(r, str) for r in step.roles):
            problems.append(f"{where}: roles must be a non-empty tuple of role names")
        problem = _schema_problem(f"{where}: input_schema", step.input_schema)
    else:
        if not isinstance(step.signal, str) or not step.signal:
            problems.append(f"{where}: signal must be a non-empty name")
        problem = _schema_problem(f"{where}: schema", step.schema) if step.schema is not None else None
    return problems + ([problem] if problem else [])


def _unreachable(definition: type[WorkflowDefinition]) -> list[str]:
    by_name = {step.name: step for step in definition.steps}
    reached, pending = set(), [definition.start]
    while pending:
        name = pending.pop()
        if name in reached or name not in by_name:
            continue
        reached.add(name)
        targets, anywhere = _targets(by_name[name])
        if anywhere:
            return []
        pending.extend(targets)
    return [name for name in by_name if name not in reached]


def definition_problems(definition: type[WorkflowDefinition]) -> list[str]:
    """Every rule ``definition`` breaks (empty: it is sound)."""
    steps = definition.steps
    if not isinstance(steps, tuple) or not steps:
        return ["steps must be a non-empty tuple"]
    problems = []
    if not isinstance(definition.version, int) or definition.version < 1:
        problems.append(f"version must be a positive integer, not {definition.version!r}")
    named = [step.name for step in steps if isinstance(step, (AutoStep, HumanStep, WaitStep))]
    duplicates = sorted({name for name in named if named.count(name) > 1})
    problems += [f"step name {name!r} is used more than once" for name in duplicates]
    names = set(named)
    start = getattr(definition, "start", None)
    if start not in names:
        problems.append(f"start {start!r} names no step")
    for step in steps:
        problems += _step_problems(step, names)
    problem = _schema_problem("input_schema", definition.input_schema)
    if problem:
        problems.append(problem)
    if not problems:
        unreachable = _unreachable(definition)
        if unreachable:
            problems.append(
                f"steps not reachable from start {start!r}: {', '.join(map(repr, unreachable))} "
                "(declare branches=(...) on a step whose next is a function, or remove them)"
            )
    return problems


def check_definition(definition: type[WorkflowDefinition]) -> None:
    """Raise InvalidDefinitionError naming every rule ``definition`` breaks."""
    problems = definition_problems(definition)
    if problems:
        label = f"workflow {getattr(definition, 'name', definition.__name__)!r} v{definition.version}"
        raise InvalidDefinitionError(f"{label} ({definition.__qualname__}): " + "; ".join(problems))


@dataclass(frozen=True)
class RunInfo:
    thread_id: UUID
    definition: str
    version: int
    status: str  # running | waiting | completed | failed | cancelled
    state: Mapping[str, Any]
    # HumanStep: {step, prompt, input_schema, roles}; WaitStep: {step, signal, input_schema}
    waiting_for: Mapping[str, Any] | None
    result: Mapping[str, Any] | None
    error: str
    created_at: datetime
    updated_at: datetime


# --- Errors (the API maps each base once: 400, 403, 404, 409) -----------------


class WorkflowError(DomainError):
    code = "workflow_error"


class UnknownDefinitionError(WorkflowError, InvalidError):
    """No registered definition has this name (or version): 400 on ``definition``."""

    code = "unknown_definition"
    default_message = "Unknown workflow definition."

    def __init__(self, message: str | None = None):
        message = message or self.default_message
        super().__init__(message, errors=[FieldError(field="definition", code=self.code, message=message)])


class InvalidInputError(WorkflowError, InvalidError):
    """Input (or a signal's payload) does not match its schema: 400, one
    FieldError per problem with a path such as ``input.amount``."""

    code = "invalid_input"
    default_message = "The input does not match the schema."


class RunNotFoundError(WorkflowError, NotFoundError):
    code = "run_not_found"
    default_message = "No workflow run has this thread_id."


class NotWaitingError(WorkflowError, ConflictError):
    """The run is not waiting for this (finished, running, or waiting at another
    step or for another signal)."""

    code = "run_not_waiting"
    default_message = "The run is not waiting for this."


class SignalStepError(NotWaitingError):
    """The run waits for a signal from code, which no user can answer."""

    code = "signal_step"
    default_message = "The run waits for a signal, not for a user's answer."


class RunFinishedError(WorkflowError, ConflictError):
    code = "run_finished"
    default_message = "The run has already finished."


class RunNotFailedError(WorkflowError, ConflictError):
    code = "run_not_failed"
    default_message = "Only failed runs can be retried."


class NotAllowedError(WorkflowError, ForbiddenError):
    """The caller may not answer this step (role, or maker ≠ checker)."""

    code = "step_not_allowed"
    default_message = "You may not answer this step."


class WorkflowService(Protocol):
    def start(
        self,
        *,
        definition: str,
        input: Mapping[str, Any],
        started_by: UUID | None,
        idempotency_key: str | None = None,
    ) -> RunInfo:
        """Start the latest version of ``definition``. With ``idempotency_key``
        (up to 255 characters, e.g. ``"<app>:<purpose>:<event id>"``), a start
        repeated with the same key returns the run the first one started and
        starts nothing: a caller that crashed after starting a run finds it
        again. UnknownDefinitionError, InvalidInputError."""
        ...

    def get(self, *, thread_id: UUID) -> RunInfo:
        """RunNotFoundError."""
        ...

    def signal(self, *, thread_id: UUID, name: str, payload: Mapping[str, Any] | None = None) -> RunInfo:
        """Deliver signal ``name`` to a run waiting at a WaitStep for it; the run
        goes on (its next automatic steps run in a worker). RunNotFoundError;
        NotWaitingError when the run is not waiting, or waits at a HumanStep or
        for another signal; InvalidInputError when ``payload`` does not match the
        step's schema."""
        ...

    def cancel(self, *, thread_id: UUID, actor_id: UUID | None = None, reason: str = "") -> RunInfo:
        """Cancel a running or waiting run (publishes ``workflows.RunCancelled``).
        RunNotFoundError; RunFinishedError when it has already finished."""
        ...
