"""Test-only definitions (imported by the tests and by the test worker).

``sample_review``: an automatic step, a branch on the amount, two human steps
(a manager's approval with maker ≠ checker and a deadline, then finance's
booking), and automatic steps that write one row each into the workflows
database in the step's own transaction (so a duplicate effect would show).

``sample_replenishment``: an automatic step that records the StepContext it
got, a WaitStep for the ``goods_received`` signal (with a payload schema and a
deadline that fails the run), then an automatic step."""

from datetime import timedelta

from django.db import connections

from erp.routers import alias_for_app
from workflows.contract import AutoStep, HumanStep, StepContext, WaitStep, WorkflowDefinition

EFFECTS_TABLE = "test_workflow_effects"


def record(step: str, state: dict) -> None:
    with connections[alias_for_app("workflows")].cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {EFFECTS_TABLE} (thread_id, step) VALUES (%s, %s)",  # noqa: S608
            [state["thread_hint"], step],
        )


def check_amount(state, ctx: StepContext):
    record("check", state)
    if state.get("explode"):
        raise RuntimeError("the checker exploded")
    return {"checked": True, "big": state["amount"] > 1000, "check_attempt": ctx.attempt}


def book(state, ctx: StepContext):
    record("book", state)
    if state.get("slow"):
        import time

        time.sleep(state["slow"])
    return {"booked": True}


def auto_approve(state, ctx: StepContext):
    record("auto_approve", state)
    return {"approval": {"approved": True, "by": "policy"}}


APPROVAL_SCHEMA = {
    "type": "object",
    "properties": {"approved": {"type": "boolean"}, "note": {"type": "string", "maxLength": 200}},
    "required": ["approved"],
    "additionalProperties": False,
}


class SampleReview(WorkflowDefinition):
    name = "sample_review"
    version = 1
    description = "Test-only: check, branch, manager approval (maker ≠ checker, deadline), finance booking."
    input_schema = {
        "type": "object",
        "properties": {
            "amount": {"type": "number", "minimum": 0},
            "thread_hint": {"type": "string"},
            "explode": {"type": "boolean"},
            "slow": {"type": "number"},
            "deadline_seconds": {"type": "number"},
        },
        "required": ["amount", "thread_hint"],
    }
    start = "check"
    steps = (
        AutoStep(
            "check",
            check_amount,
            next=lambda s: "manager_approval" if s["big"] else "auto_approve",
            branches=("manager_approval", "auto_approve"),
        ),
        AutoStep("auto_approve", auto_approve, next="finance_booking"),
        HumanStep(
            "manager_approval",
            prompt="Approve this amount?",
            input_schema=APPROVAL_SCHEMA,
            roles=("manager",),
            forbid_starter=True,
            deadline=timedelta(hours=24),
            on_deadline="auto_approve",
            store_as="approval",
            next=lambda s: "finance_booking" if s["approval"]["approved"] else None,
            branches=("finance_booking",),
        ),
        HumanStep(
            "finance_booking",
            prompt="Book it?",
            input_schema={
                "type": "object",
                "properties": {"account": {"type": "string"}},
                "required": ["account"],
            },
            roles=("finance",),
            next="book",
        ),
        AutoStep("book", book),
    )


class Versioned(WorkflowDefinition):
    name = "sample_versioned"
    version = 1
    description = "Test-only: one human step, then a result naming the version."
    start = "wait"
    steps = (
        HumanStep(
            "wait", prompt="Go on?", input_schema={"type": "object"}, roles=("manager",), next="finish"
        ),
        AutoStep("finish", lambda state, ctx: {"finished_by": "v1"}),
    )


def _context(ctx: StepContext) -> dict:
    return {
        "thread_id": str(ctx.thread_id),
        "step": ctx.step,
        "definition": ctx.definition,
        "version": ctx.version,
        "attempt": ctx.attempt,
        "key": ctx.idempotency_key,
        "state_keys": sorted(ctx.state),
    }


def place_order(state, ctx: StepContext):
    record("place_order", state)
    return {"order_ctx": _context(ctx)}


def put_away(state, ctx: StepContext):
    record("put_away", state)
    return {"put_away_ctx": _context(ctx), "stored": state["receipt"]["quantity"]}


class SampleReplenishment(WorkflowDefinition):
    name = "sample_replenishment"
    description = "Test-only: order, wait for the goods_received signal (7-day deadline fails), put away."
    input_schema = {
        "type": "object",
        "properties": {"thread_hint": {"type": "string"}},
        "required": ["thread_hint"],
    }
    start = "place_order"
    steps = (
        AutoStep("place_order", place_order, next="goods_receipt"),
        WaitStep(
            "goods_receipt",
            signal="goods_received",
            next="put_away",
            deadline=timedelta(days=7),
            schema={
                "type": "object",
                "properties": {"quantity": {"type": "integer", "minimum": 1}},
                "required": ["quantity"],
            },
            store_as="receipt",
        ),
        AutoStep("put_away", put_away),
    )
