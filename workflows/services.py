"""The engine: start, advance, continue, cancel, deadlines, retry.

Every transition happens in one transaction on the workflows database that locks
the run row, applies the step, appends a checkpoint and publishes the engine's
event, so a crash or a redelivered task never applies a step twice and two
concurrent answers cannot both win.
"""

from __future__ import annotations

import traceback
from collections.abc import Mapping
from datetime import timedelta
from typing import Any
from uuid import UUID

import jsonschema
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from erp.events import publish
from erp.routers import alias_for_app
from workflows import registry
from workflows.contract import (
    AutoStep,
    HumanStep,
    InvalidInputError,
    NotAllowedError,
    NotWaitingError,
    RunInfo,
    RunNotFoundError,
    WorkflowDefinition,
    WorkflowService,
)
from workflows.events import RunCompleted, RunFailed, RunWaiting
from workflows.models import Checkpoint, WorkflowRun

Status = WorkflowRun.Status


def _db() -> str:
    return alias_for_app("workflows")


def validate(schema: Mapping[str, Any], value: Any) -> None:
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
    if errors:
        details = [
            {
                "field": ".".join(str(p) for p in e.absolute_path) or None,
                "code": str(e.validator),
                "message": e.message,
            }
            for e in errors
        ]
        raise InvalidInputError(details[0]["message"], details)


def _checkpoint(run: WorkflowRun, step: str, *, actor: UUID | None = None, input=None) -> None:
    last = run.checkpoints.order_by("-seq").values_list("seq", flat=True).first() or 0
    Checkpoint.objects.create(
        run=run, seq=last + 1, step=step, status=run.status, state=run.state, actor=actor, input=input
    )


def _locked(thread_id: UUID) -> WorkflowRun:
    try:
        return WorkflowRun.objects.select_for_update().get(pk=thread_id)
    except (WorkflowRun.DoesNotExist, ValueError) as exc:
        raise RunNotFoundError(str(thread_id)) from exc


def _schedule(run: WorkflowRun) -> None:
    from workflows.tasks import advance_run

    thread_id = str(run.thread_id)
    transaction.on_commit(lambda: advance_run.delay(thread_id), using=_db(), robust=True)


def _definition(run: WorkflowRun) -> type[WorkflowDefinition]:
    return registry.get(run.definition, run.version)


def _go_to(run: WorkflowRun, next_step) -> None:
    """Move to the step ``next_step`` names (or computes); None completes the run."""
    name = next_step(run.state) if callable(next_step) else next_step
    if name is None:
        run.status, run.current_step, run.result = Status.COMPLETED, "", run.state
        run.waiting_for = run.deadline_at = None
        return
    step = _definition(run).step(name)
    run.current_step = name
    if isinstance(step, HumanStep):
        run.status = Status.WAITING
        run.waiting_for = {
            "step": step.name,
            "prompt": step.prompt,
            "input_schema": dict(step.input_schema),
            "roles": list(step.roles),
        }
        run.deadline_at = timezone.now() + step.deadline if step.deadline else None
    else:
        run.status = Status.RUNNING
        run.waiting_for = run.deadline_at = None


def _announce(run: WorkflowRun, *, schedule: bool = True) -> None:
    common = {"thread_id": run.thread_id, "definition": run.definition, "version": run.version}
    if run.status == Status.WAITING:
        publish(
            RunWaiting(
                **common,
                step=run.current_step,
                prompt=run.waiting_for["prompt"],
                roles=run.waiting_for["roles"],
            ),
            using=_db(),
        )
    elif run.status == Status.COMPLETED:
        publish(RunCompleted(**common, result=run.result), using=_db())
    elif run.status == Status.RUNNING and schedule:
        _schedule(run)


def run_start(*, definition: str, input: Mapping[str, Any], started_by: UUID | None) -> WorkflowRun:
    definition_class = registry.get(definition)
    if not isinstance(input, Mapping):
        raise InvalidInputError("input must be an object")
    validate(definition_class.input_schema, input)
    with transaction.atomic(using=_db()):
        run = WorkflowRun.objects.create(
            definition=definition_class.name,
            version=definition_class.version,
            state=dict(input),
            started_by=started_by,
        )
        _checkpoint(run, "", actor=started_by, input=dict(input))
        _go_to(run, definition_class.start)
        run.save()
        if run.status == Status.WAITING:
            _checkpoint(run, run.current_step)
        _announce(run)
    return run


def advance(thread_id: UUID) -> str:
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


def _advance_one(thread_id: UUID) -> str:
    with transaction.atomic(using=_db()):
        run = _locked(thread_id)
        if run.status != Status.RUNNING:
            return run.status
        step = _definition(run).step(run.current_step)
        assert isinstance(step, AutoStep)
        try:
            with transaction.atomic(using=_db()):
                update = step.run(dict(run.state)) or {}
        except Exception as exc:
            raise _StepFailedError(step.name, "".join(traceback.format_exception_only(exc)).strip()) from exc
        run.state = {**run.state, **update}
        _go_to(run, step.next)
        run.save()
        _checkpoint(run, step.name)
        if run.status == Status.WAITING:
            _checkpoint(run, run.current_step)
        # advance() goes on with the next step itself; a crash mid-loop is covered
        # by the task's redelivery (acks late) and resume_stalled().
        _announce(run, schedule=False)
        return "continue" if run.status == Status.RUNNING else run.status


def _fail(thread_id: UUID, step: str, error: str) -> None:
    with transaction.atomic(using=_db()):
        run = _locked(thread_id)
        run.status, run.error = Status.FAILED, error
        run.save()
        _checkpoint(run, step)
        publish(
            RunFailed(
                thread_id=run.thread_id,
                definition=run.definition,
                version=run.version,
                step=step,
                error=error,
            ),
            using=_db(),
        )


def run_continue(
    *, thread_id: UUID, input: Any, actor_id: UUID, actor_roles: frozenset[str], step: str | None = None
) -> WorkflowRun:
    with transaction.atomic(using=_db()):
        run = _locked(thread_id)
        if run.status != Status.WAITING:
            raise NotWaitingError(f"run is {run.status}, not waiting for input")
        if step is not None and step != run.current_step:
            raise NotWaitingError(
                f"step {step!r} was already answered; the run now waits at {run.current_step!r}"
            )
        step = _definition(run).step(run.current_step)
        assert isinstance(step, HumanStep)
        if not (set(step.roles) & set(actor_roles)):
            raise NotAllowedError(f"answering {step.name!r} needs one of the roles: {', '.join(step.roles)}")
        if step.forbid_starter and run.started_by == actor_id:
            raise NotAllowedError("the user who started this run may not answer this step (maker ≠ checker)")
        validate(step.input_schema, input)
        run.state = {**run.state, (step.store_as or step.name): input}
        _go_to(run, step.next)
        run.save()
        _checkpoint(run, step.name, actor=actor_id, input=input)
        if run.status == Status.WAITING:
            _checkpoint(run, run.current_step)
        _announce(run)
    return run


def run_cancel(*, thread_id: UUID, actor_id: UUID | None) -> WorkflowRun:
    with transaction.atomic(using=_db()):
        run = _locked(thread_id)
        if run.status in WorkflowRun.FINISHED:
            raise NotWaitingError(f"run is already {run.status}")
        run.status, run.waiting_for, run.deadline_at = Status.CANCELLED, None, None
        run.save()
        _checkpoint(run, run.current_step, actor=actor_id)
    return run


def apply_deadlines() -> int:
    """Move runs whose human step is overdue to the step's on_deadline (beat)."""
    due = list(
        WorkflowRun.objects.filter(status=Status.WAITING, deadline_at__lte=timezone.now()).values_list(
            "thread_id", flat=True
        )
    )
    for thread_id in due:
        with transaction.atomic(using=_db()):
            run = _locked(thread_id)
            if run.status != Status.WAITING or not run.deadline_at or run.deadline_at > timezone.now():
                continue
            step = _definition(run).step(run.current_step)
            if step.on_deadline is None:
                run.status, run.error = Status.FAILED, f"deadline of {step.name!r} passed"
                run.save()
                _checkpoint(run, step.name)
                continue
            _go_to(run, step.on_deadline)
            run.save()
            _checkpoint(run, step.name, input={"deadline_passed": True})
            _announce(run)
    return len(due)


def resume_stalled() -> int:
    """Re-send the advance task of running runs that have not moved for a while
    (its message was lost with a broker or a killed worker). A duplicate is
    harmless: it waits for the row lock, then finds the run already moved on."""
    from workflows.tasks import advance_run

    stalled_before = timezone.now() - timedelta(seconds=settings.EVENTS_REDELIVER_AFTER_SECONDS)
    stalled = WorkflowRun.objects.filter(status=Status.RUNNING, updated_at__lt=stalled_before)
    thread_ids = [str(t) for t in stalled.values_list("thread_id", flat=True)[:1000]]
    for thread_id in thread_ids:
        advance_run.delay(thread_id)
    return len(thread_ids)


def run_retry(*, thread_id: UUID) -> WorkflowRun:
    """Resume a failed run from the step that failed (admin action)."""
    with transaction.atomic(using=_db()):
        run = _locked(thread_id)
        if run.status != Status.FAILED:
            raise NotWaitingError(f"only failed runs can be retried; this one is {run.status}")
        run.status, run.error = Status.RUNNING, ""
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
    def start(self, *, definition: str, input: Mapping[str, Any], started_by: UUID | None) -> RunInfo:
        return info(run_start(definition=definition, input=input, started_by=started_by))

    def get(self, *, thread_id: UUID) -> RunInfo:
        try:
            return info(WorkflowRun.objects.get(pk=thread_id))
        except WorkflowRun.DoesNotExist as exc:
            raise RunNotFoundError(str(thread_id)) from exc
