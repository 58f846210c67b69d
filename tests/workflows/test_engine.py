"""The engine through its service (what other apps call: erp.services.get("workflows")),
Celery eager: a run's automatic steps run when the transition commits."""

import ast
import uuid
from pathlib import Path

import pytest

from erp import services as registry_of_services
from erp.db import atomic
from erp.models import OutboxEvent
from erp.routers import alias_for_app
from tests.workflows.conftest import effects
from workflows import services
from workflows.contract import (
    InvalidInputError,
    NotWaitingError,
    RunFinishedError,
    RunInfo,
    RunNotFoundError,
)
from workflows.models import WorkflowRun

pytestmark = [
    pytest.mark.django_db(transaction=True, databases="__all__"),
    pytest.mark.usefixtures("effects_table"),
]

WF_DB = alias_for_app("workflows")


@pytest.fixture
def engine():
    return registry_of_services.get("workflows")


def outbox(event_type: str, thread_id) -> list[dict]:
    rows = OutboxEvent.objects.using(WF_DB).filter(event_type=event_type)
    return [row.payload for row in rows if row.payload["thread_id"] == str(thread_id)]


def replenishment(engine) -> tuple[RunInfo, str]:
    hint = uuid.uuid4().hex
    return engine.start(definition="sample_replenishment", input={"thread_hint": hint}, started_by=None), hint


def test_a_signal_resumes_the_waiting_run_and_the_next_automatic_step_runs(engine):
    run, hint = replenishment(engine)
    waiting = engine.get(thread_id=run.thread_id)
    assert waiting.status == "waiting"
    assert waiting.waiting_for == {
        "step": "goods_receipt",
        "signal": "goods_received",
        "input_schema": {
            "type": "object",
            "properties": {"quantity": {"type": "integer", "minimum": 1}},
            "required": ["quantity"],
        },
    }
    assert [p["signal"] for p in outbox("workflows.RunWaiting", run.thread_id)] == ["goods_received"]

    signalled = engine.signal(thread_id=run.thread_id, name="goods_received", payload={"quantity": 7})
    assert isinstance(signalled, RunInfo) and signalled.status == "running"  # put_away runs at commit

    done = engine.get(thread_id=run.thread_id)
    assert done.status == "completed"
    assert done.result["receipt"] == {"quantity": 7}
    assert done.result["stored"] == 7
    assert effects(hint) == ["place_order", "put_away"]
    history = WorkflowRun.objects.get(pk=run.thread_id).checkpoints.filter(step="goods_receipt")
    assert {"signal": "goods_received", "payload": {"quantity": 7}} in [c.input for c in history]


def test_an_automatic_step_gets_its_context(engine):
    run, _hint = replenishment(engine)
    engine.signal(thread_id=run.thread_id, name="goods_received", payload={"quantity": 1})
    state = engine.get(thread_id=run.thread_id).state
    assert state["order_ctx"] == {
        "thread_id": str(run.thread_id),
        "step": "place_order",
        "definition": "sample_replenishment",
        "version": 1,
        "attempt": 1,
        "key": f"workflows:{run.thread_id}:place_order",
        "state_keys": ["thread_hint"],
    }
    assert state["put_away_ctx"]["step"] == "put_away"
    assert "receipt" in state["put_away_ctx"]["state_keys"]


def test_a_retried_step_sees_the_next_attempt(engine):
    hint = uuid.uuid4().hex
    run = engine.start(
        definition="sample_review", input={"amount": 5, "thread_hint": hint, "explode": True}, started_by=None
    )
    assert engine.get(thread_id=run.thread_id).status == "failed"
    WorkflowRun.objects.filter(pk=run.thread_id).update(state={"amount": 5, "thread_hint": hint})
    services.run_retry(thread_id=run.thread_id)
    assert engine.get(thread_id=run.thread_id).state["check_attempt"] == 2


@pytest.mark.parametrize("name", ["goods_shipped", "GOODS_RECEIVED"])
def test_a_signal_the_run_does_not_wait_for_is_a_conflict_and_changes_nothing(engine, name):
    run, _hint = replenishment(engine)
    with pytest.raises(NotWaitingError, match="goods_received"):
        engine.signal(thread_id=run.thread_id, name=name)
    assert engine.get(thread_id=run.thread_id).waiting_for["step"] == "goods_receipt"


def test_a_signal_to_a_run_waiting_for_a_human_or_finished_is_a_conflict(engine):
    human = engine.start(
        definition="sample_review", input={"amount": 5000, "thread_hint": "x"}, started_by=None
    )
    with pytest.raises(NotWaitingError, match="a user's answer"):
        engine.signal(thread_id=human.thread_id, name="manager_approval", payload={"approved": True})
    engine.cancel(thread_id=human.thread_id)
    with pytest.raises(NotWaitingError, match="cancelled"):
        engine.signal(thread_id=human.thread_id, name="goods_received")


def test_a_payload_not_matching_the_step_schema_is_invalid_input(engine):
    run, _hint = replenishment(engine)
    with pytest.raises(InvalidInputError) as raised:
        engine.signal(thread_id=run.thread_id, name="goods_received", payload={"quantity": 0})
    assert [(e.field, e.code) for e in raised.value.errors] == [("payload.quantity", "minimum")]
    with pytest.raises(InvalidInputError) as raised:
        engine.signal(thread_id=run.thread_id, name="goods_received")  # {} lacks quantity
    assert raised.value.errors[0].code == "required"
    assert engine.get(thread_id=run.thread_id).status == "waiting"


def test_an_unknown_thread_id_is_not_found(engine):
    for call in (
        lambda: engine.get(thread_id=uuid.uuid4()),
        lambda: engine.signal(thread_id=uuid.uuid4(), name="goods_received"),
        lambda: engine.cancel(thread_id=uuid.uuid4()),
    ):
        with pytest.raises(RunNotFoundError):
            call()


def test_cancel_from_code_publishes_run_cancelled(engine):
    run, _hint = replenishment(engine)
    actor = uuid.uuid4()
    cancelled = engine.cancel(thread_id=run.thread_id, actor_id=actor, reason="supplier went bust")
    assert cancelled.status == "cancelled" and cancelled.waiting_for is None
    assert outbox("workflows.RunCancelled", run.thread_id) == [
        {
            "thread_id": str(run.thread_id),
            "definition": "sample_replenishment",
            "definition_version": 1,
            "step": "goods_receipt",
            "cancelled_by": str(actor),
            "reason": "supplier went bust",
        }
    ]
    with pytest.raises(RunFinishedError):
        engine.cancel(thread_id=run.thread_id)
    assert len(outbox("workflows.RunCancelled", run.thread_id)) == 1


def test_a_passed_deadline_without_on_deadline_fails_the_run_and_publishes_run_failed(engine):
    run, _hint = replenishment(engine)
    WorkflowRun.objects.filter(pk=run.thread_id).update(deadline_at="2000-01-01T00:00:00Z")
    assert services.apply_deadlines() == 1
    failed = engine.get(thread_id=run.thread_id)
    assert (failed.status, failed.waiting_for) == ("failed", None)
    assert "deadline of 'goods_receipt' passed" in failed.error
    [payload] = outbox("workflows.RunFailed", run.thread_id)
    assert payload["step"] == "goods_receipt" and "deadline" in payload["error"]
    with pytest.raises(NotWaitingError):
        engine.signal(thread_id=run.thread_id, name="goods_received", payload={"quantity": 1})


def test_a_signal_from_inside_another_apps_transaction_commits_on_its_own(engine):
    """A subscriber signals inside its own transaction: the engine's transition
    commits on the workflows database even if the caller then rolls back."""
    run, _hint = replenishment(engine)

    class CallerFailedError(Exception):
        pass

    with pytest.raises(CallerFailedError), atomic("estoque"):
        engine.signal(thread_id=run.thread_id, name="goods_received", payload={"quantity": 2})
        raise CallerFailedError
    assert engine.get(thread_id=run.thread_id).status == "completed"


def test_services_does_not_import_tasks():
    tree = ast.parse(Path(services.__file__).read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported |= {f"{node.module}.{alias.name}" for alias in node.names} | {node.module}
    assert "workflows.tasks" not in imported


def _start(key):
    return services.run_start(
        definition="sample_replenishment",
        input={"thread_hint": uuid.uuid4().hex},
        started_by=None,
        idempotency_key=key,
    )


def test_a_start_repeated_with_its_idempotency_key_returns_the_first_run(engine):
    first = engine.start(
        definition="sample_replenishment",
        input={"thread_hint": "a"},
        started_by=None,
        idempotency_key="caller:job:1",
    )
    again = _start("caller:job:1")
    other = _start("caller:job:2")
    assert again.thread_id == first.thread_id
    assert again.state["thread_hint"] == "a"  # the first run, not a new one with the new input
    assert other.thread_id != first.thread_id
    assert WorkflowRun.objects.filter(idempotency_key__startswith="caller:job:").count() == 2


@pytest.mark.parametrize("key", ["", "k" * 256, "bad\x00key", 7])
def test_a_bad_idempotency_key_is_invalid_input_and_starts_nothing(key):
    before = WorkflowRun.objects.count()
    with pytest.raises(InvalidInputError) as error:
        _start(key)
    assert [e.field for e in error.value.errors] == ["idempotency_key"]
    assert WorkflowRun.objects.count() == before
