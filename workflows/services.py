"""The engine: start, advance, continue, signal, cancel, deadlines, retry.

Every transition happens in one transaction on the workflows database that locks
the run row, applies the step, appends a checkpoint and publishes the engine's
event, so a crash or a redelivered task never applies a step twice and two
concurrent answers cannot both win.

Automatic steps run in the ``workflows.advance_run`` task, sent by name once the
transition commits: this module does not import workflows.tasks (which imports
it), so the dependency points one way.
"""

from __future__ import annotations

import traceback
from collections.abc import Mapping
from datetime import timedelta
from types import MappingProxyType
from typing import Any
from uuid import UUID

import jsonschema
from celery import current_app
from django.conf import settings
from django.db import IntegrityError
from django.utils import timezone
from django.utils.translation import gettext as _

from erp.db import atomic, on_commit
from erp.errors import FieldError
from erp.events import publish
from workflows import registry
from workflows.contract import (
    AutoStep,
    HumanStep,
    InvalidInputError,
    NotAllowedError,
    NotWaitingError,
    RunFinishedError,
    RunInfo,
    RunNotFailedError,
    RunNotFoundError,
    SignalStepError,
    StepContext,
    WaitStep,
    WorkflowDefinition,
    WorkflowService,
)
from workflows.events import RunCancelled, RunCompleted, RunFailed, RunWaiting
from workflows.models import Checkpoint, WorkflowRun

Status = WorkflowRun.Status
APP = "workflows"
ADVANCE_TASK = "workflows.advance_run"


def validate(schema: Mapping[str, Any] | None, value: Any, *, field: str = "input") -> None:
    """InvalidInputError unless ``value`` is an object matching ``schema``; each
    error names its path under ``field`` (``input.amount``)."""
    if not isinstance(value, Mapping):
        message = _("Must be a JSON object.")
        raise InvalidInputError(message, errors=[FieldError(field=field, code="type", message=message)])
    if schema is None:
        return
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
    if errors:
        raise InvalidInputError(
            errors[0].message,
            errors=[
                FieldError(
                    field=".".join([field, *(str(p) for p in e.absolute_path)]),
                    code=str(e.validator),
                    message=e.message,
                )
                for e in errors
            ],
        )


def _checkpoint(run: WorkflowRun, step: str, *, actor: UUID | None = None, input=None) -> None:
    last = run.checkpoints.order_by("-seq").values_list("seq", flat=True).first() or 0
    Checkpoint.objects.create(
        run=run, seq=last + 1, step=step, status=run.status, state=run.state, actor=actor, input=input
    )


def run_get(*, thread_id: UUID | str, lock: bool = False) -> WorkflowRun:
    """The run (its row locked until the transaction ends, with ``lock``)."""
    runs = WorkflowRun.objects.select_for_update() if lock else WorkflowRun.objects
    try:
        return runs.get(pk=UUID(str(thread_id)))
    except (WorkflowRun.DoesNotExist, ValueError) as exc:
        raise RunNotFoundError(_("No workflow run has the thread_id %(id)s.") % {"id": thread_id}) from exc


def _locked(thread_id: UUID | str) -> WorkflowRun:
    return run_get(thread_id=thread_id, lock=True)


def send_advance(thread_id: UUID | str) -> None:
    """Send the advance task by name; eager mode (no broker) runs it right here."""
    current_app.signature(ADVANCE_TASK, args=(str(thread_id),)).delay()


def _schedule(run: WorkflowRun) -> None:
    thread_id = str(run.thread_id)
    on_commit(APP, lambda: send_advance(thread_id), robust=True)


def _definition(run: WorkflowRun) -> type[WorkflowDefinition]:
    return registry.get(run.definition, run.version)


def _next_name(step, state: Mapping[str, Any]) -> str | None:
    """The step after ``step``; a branch returning a step it did not declare is a bug."""
    if not callable(step.next):
        return step.next
    name = step.next(state)
    if step.branches and name is not None and name not in step.branches:
        raise ValueError(f"next of {step.name!r} returned {name!r}, not one of its branches {step.branches}")
    return name


def _waiting_for(step: HumanStep | WaitStep) -> dict[str, Any]:
    if isinstance(step, HumanStep):
        return {
            "step": step.name,
            "prompt": step.prompt,
            "input_schema": dict(step.input_schema),
            "roles": list(step.roles),
        }
    return {
        "step": step.name,
        "signal": step.signal,
        "input_schema": dict(step.schema) if step.schema is not None else None,
    }


def _go_to(run: WorkflowRun, name: str | None) -> None:
    """Move to the step ``name``; None completes the run."""
    run.attempt = 1
    if name is None:
        run.status, run.current_step, run.result = Status.COMPLETED, "", run.state
        run.waiting_for = run.deadline_at = None
        return
    step = _definition(run).step(name)
    run.current_step = name
    if isinstance(step, (HumanStep, WaitStep)):
        run.status = Status.WAITING
        run.waiting_for = _waiting_for(step)
        run.deadline_at = timezone.now() + step.deadline if step.deadline else None
    else:
        run.status = Status.RUNNING
        run.waiting_for = run.deadline_at = None


def _announce(run: WorkflowRun, *, schedule: bool = True) -> None:
    common = {"thread_id": run.thread_id, "definition": run.definition, "definition_version": run.version}
    if run.status == Status.WAITING:
        waiting = run.waiting_for
        publish(
            RunWaiting(
                **common,
                step=run.current_step,
                prompt=waiting.get("prompt", ""),
                roles=waiting.get("roles", []),
                signal=waiting.get("signal", ""),
            )
        )
    elif run.status == Status.COMPLETED:
        publish(RunCompleted(**common, result=run.result))
    elif run.status == Status.RUNNING and schedule:
        _schedule(run)


def _moved_on(run: WorkflowRun, from_step: str, *, actor: UUID | None = None, input=None) -> None:
    """Save a transition out of ``from_step`` and record it (plus the wait it enters)."""
    run.save()
    _checkpoint(run, from_step, actor=actor, input=input)
    if run.status == Status.WAITING:
        _checkpoint(run, run.current_step)


def run_start(
    *,
    definition: str,
    input: Mapping[str, Any],
    started_by: UUID | None,
    idempotency_key: str | None = None,
) -> WorkflowRun:
    """Start a run; a repeat with the same ``idempotency_key`` returns the first."""
    definition_class = registry.get(definition)
    validate(definition_class.input_schema, input)
    if idempotency_key is not None:
        _check_key(idempotency_key)
        started = WorkflowRun.objects.filter(idempotency_key=idempotency_key).first()
        if started is not None:
            return started
    try:
        return _started(definition_class, input, started_by, idempotency_key)
    except IntegrityError:
        if idempotency_key is None:
            raise
        # A concurrent start with the same key won the unique index: its run.
        return WorkflowRun.objects.get(idempotency_key=idempotency_key)


def _check_key(key: Any) -> None:
    if not isinstance(key, str) or not key or len(key) > 255 or "\x00" in key:
        message = _("An idempotency key is 1 to 255 characters of text.")
        raise InvalidInputError(
            message, errors=[FieldError(field="idempotency_key", code="invalid", message=message)]
        )


def _started(
    definition_class: type[WorkflowDefinition],
    input: Mapping[str, Any],
    started_by: UUID | None,
    idempotency_key: str | None,
) -> WorkflowRun:
    with atomic(APP):
        run = WorkflowRun.objects.create(
            definition=definition_class.name,
            version=definition_class.version,
            state=dict(input),
            started_by=started_by,
            idempotency_key=idempotency_key,
        )
        _checkpoint(run, "", actor=started_by, input=dict(input))
        _go_to(run, definition_class.start)
        run.save()
        if run.status == Status.WAITING:
            _checkpoint(run, run.current_step)
        _announce(run)
    return run


def advance(thread_id: UUID | str) -> str:
    """Run automatic steps until the run waits, completes or fails (Celery task body)."""
    while True:
        try:
            outcome = _advance_one(thread_id)
        except _StepFailedError as failure:
            _fail(thread_id, failure.step, failure.error)
            return Status.FAILED
        if outcome != "continue":
            return outcome


class _StepFailedError(Exception):
    def __init__(self, step: str, error: str):
        self.step, self.error = step, error


def _advance_one(thread_id: UUID | str) -> str:
    with atomic(APP):
        run = _locked(thread_id)
        if run.status != Status.RUNNING:
            return run.status
        step = _definition(run).step(run.current_step)
        assert isinstance(step, AutoStep)
        ctx = StepContext(
            thread_id=run.thread_id,
            step=step.name,
            definition=run.definition,
            version=run.version,
            attempt=run.attempt,
            state=MappingProxyType(dict(run.state)),
        )
        try:
            # A savepoint: a failing step's writes roll back, the run's row stays locked.
            with atomic(APP):
                update = step.run(dict(run.state), ctx) or {}
                run.state = {**run.state, **update}
                next_name = _next_name(step, run.state)
        except Exception as exc:
            raise _StepFailedError(step.name, "".join(traceback.format_exception_only(exc)).strip()) from exc
        _go_to(run, next_name)
        _moved_on(run, step.name)
        # advance() goes on with the next step itself; a crash mid-loop is covered
        # by the task's redelivery (acks late) and resume_stalled().
        _announce(run, schedule=False)
        return "continue" if run.status == Status.RUNNING else run.status


def _failed(run: WorkflowRun, step: str, error: str, *, input=None) -> None:
    run.status, run.error = Status.FAILED, error
    run.waiting_for = run.deadline_at = None
    run.save()
    _checkpoint(run, step, input=input)
    publish(
        RunFailed(
            thread_id=run.thread_id,
            definition=run.definition,
            definition_version=run.version,
            step=step,
            error=error,
        )
    )


def _fail(thread_id: UUID | str, step: str, error: str) -> None:
    with atomic(APP):
        _failed(_locked(thread_id), step, error)


def _waiting_step(run: WorkflowRun, expected: str | None):
    if run.status != Status.WAITING:
        raise NotWaitingError(_("The run is %(status)s, not waiting.") % {"status": run.status})
    if expected is not None and expected != run.current_step:
        raise NotWaitingError(
            _("Step %(step)s was already answered; the run now waits at %(current)s.")
            % {"step": expected, "current": run.current_step}
        )
    return _definition(run).step(run.current_step)


def _user_ids(value: Any) -> set[str]:
    if isinstance(value, str):
        return {value}
    if isinstance(value, list):
        return {str(item) for item in value}
    return set()


def run_continue(
    *, thread_id: UUID, input: Any, actor_id: UUID, actor_roles: frozenset[str], step: str | None = None
) -> WorkflowRun:
    """A user answers the HumanStep the run waits at."""
    with atomic(APP):
        run = _locked(thread_id)
        current = _waiting_step(run, step)
        if isinstance(current, WaitStep):
            raise SignalStepError(
                _("Step %(step)s waits for the signal %(signal)s from the system, not for an answer.")
                % {"step": current.name, "signal": current.signal}
            )
        if not (set(current.roles) & set(actor_roles)):
            raise NotAllowedError(
                _("Answering %(step)s needs one of the roles: %(roles)s.")
                % {"step": current.name, "roles": ", ".join(current.roles)}
            )
        if current.forbid_starter and run.started_by == actor_id:
            raise NotAllowedError(
                _("The user who started this run may not answer this step (maker ≠ checker).")
            )
        if current.forbid_actors and str(actor_id) in _user_ids(run.state.get(current.forbid_actors)):
            raise NotAllowedError(
                _("You may not answer this step: the run is about a document of yours (maker ≠ checker).")
            )
        validate(current.input_schema, input)
        run.state = {**run.state, (current.store_as or current.name): input}
        if current.actor_as:
            run.state[current.actor_as] = str(actor_id)
        _go_to(run, _next_name(current, run.state))
        _moved_on(run, current.name, actor=actor_id, input=input)
        _announce(run)
    return run


def run_signal(*, thread_id: UUID, name: str, payload: Mapping[str, Any] | None = None) -> WorkflowRun:
    """Code delivers signal ``name`` to the WaitStep the run waits at."""
    payload = {} if payload is None else payload
    with atomic(APP):
        run = _locked(thread_id)
        current = _waiting_step(run, None)
        if not isinstance(current, WaitStep) or current.signal != name:
            awaited = current.signal if isinstance(current, WaitStep) else _("a user's answer")
            raise NotWaitingError(
                _("The run waits at %(step)s for %(awaited)s, not for the signal %(name)s.")
                % {"step": current.name, "awaited": awaited, "name": name}
            )
        validate(current.schema, payload, field="payload")
        payload = dict(payload)
        run.state = {**run.state, (current.store_as or current.name): payload}
        _go_to(run, _next_name(current, run.state))
        _moved_on(run, current.name, input={"signal": name, "payload": payload})
        _announce(run)
    return run


def run_cancel(*, thread_id: UUID, actor_id: UUID | None = None, reason: str = "") -> WorkflowRun:
    with atomic(APP):
        run = _locked(thread_id)
        if run.status in WorkflowRun.FINISHED:
            raise RunFinishedError(_("The run is already %(status)s.") % {"status": run.status})
        run.status, run.waiting_for, run.deadline_at = Status.CANCELLED, None, None
        run.save()
        _checkpoint(run, run.current_step, actor=actor_id, input={"reason": reason} if reason else None)
        publish(
            RunCancelled(
                thread_id=run.thread_id,
                definition=run.definition,
                definition_version=run.version,
                step=run.current_step,
                cancelled_by=actor_id,
                reason=reason,
            )
        )
    return run


def apply_deadlines() -> int:
    """Move runs whose waiting step is overdue to the step's on_deadline, or fail
    them (publishing RunFailed) when it has none (beat)."""
    due = list(
        WorkflowRun.objects.filter(status=Status.WAITING, deadline_at__lte=timezone.now()).values_list(
            "thread_id", flat=True
        )
    )
    for thread_id in due:
        with atomic(APP):
            run = _locked(thread_id)
            if run.status != Status.WAITING or not run.deadline_at or run.deadline_at > timezone.now():
                continue
            step = _definition(run).step(run.current_step)
            if step.on_deadline is None:
                _failed(run, step.name, f"deadline of {step.name!r} passed", input={"deadline_passed": True})
                continue
            _go_to(run, step.on_deadline)
            _moved_on(run, step.name, input={"deadline_passed": True})
            _announce(run)
    return len(due)


def resume_stalled() -> int:
    """Re-send the advance task of running runs that have not moved for a while
    (its message was lost with a broker or a killed worker). A duplicate is
    harmless: it waits for the row lock, then finds the run already moved on."""
    stalled_before = timezone.now() - timedelta(seconds=settings.EVENTS_REDELIVER_AFTER_SECONDS)
    stalled = WorkflowRun.objects.filter(status=Status.RUNNING, updated_at__lt=stalled_before)
    thread_ids = [str(t) for t in stalled.values_list("thread_id", flat=True)[:1000]]
    for thread_id in thread_ids:
        send_advance(thread_id)
    return len(thread_ids)


def run_retry(*, thread_id: UUID) -> WorkflowRun:
    """Resume a failed run from the step that failed (admin action)."""
    with atomic(APP):
        run = _locked(thread_id)
        if run.status != Status.FAILED:
            raise RunNotFailedError(
                _("Only failed runs can be retried; this one is %(status)s.") % {"status": run.status}
            )
        step = _definition(run).step(run.current_step)
        if not isinstance(step, AutoStep):
            # Failed at a passed deadline: waiting again would wait for nothing new.
            raise RunNotFailedError(_("Only a failed automatic step can be retried."))
        run.status, run.error, run.attempt = Status.RUNNING, "", run.attempt + 1
        run.save()
        _checkpoint(run, run.current_step)
        _schedule(run)
    return run


def info(run: WorkflowRun) -> RunInfo:
    return RunInfo(
        thread_id=run.thread_id,
        definition=run.definition,
        version=run.version,
        status=run.status,
        state=run.state,
        waiting_for=run.waiting_for,
        result=run.result,
        error=run.error,
        created_at=run.created_at,
        updated_at=run.updated_at,
    )


class WorkflowServiceImpl(WorkflowService):
    def start(
        self,
        *,
        definition: str,
        input: Mapping[str, Any],
        started_by: UUID | None,
        idempotency_key: str | None = None,
    ) -> RunInfo:
        return info(
            run_start(
                definition=definition, input=input, started_by=started_by, idempotency_key=idempotency_key
            )
        )

    def get(self, *, thread_id: UUID) -> RunInfo:
        return info(run_get(thread_id=thread_id))

    def signal(self, *, thread_id: UUID, name: str, payload: Mapping[str, Any] | None = None) -> RunInfo:
        return info(run_signal(thread_id=thread_id, name=name, payload=payload))

    def cancel(self, *, thread_id: UUID, actor_id: UUID | None = None, reason: str = "") -> RunInfo:
        return info(run_cancel(thread_id=thread_id, actor_id=actor_id, reason=reason))
