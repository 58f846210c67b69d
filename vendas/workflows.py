"""vendas' workflow definitions (registered with the engine when the class is
created; vendas.apps imports this module).

``sales_order_approval``: started by a confirm that goes over the customer's
credit limit (services.order_confirm), with the order ``pending_approval``. A
manager approves or rejects it with a comment; neither the order's creator nor
the user who asked for the approval may answer, whatever their roles (403). No
answer within ``VENDAS_APPROVAL_HOURS`` escalates to an admin. Approved: the
stock is reserved and the order confirmed, or, with the stock gone by then, the
order returns to ``draft`` with the reason (in the run's result too).
Rejected: the order is cancelled with the comment.

The last steps write to vendas' and estoque's databases, outside the step's own
transaction on the workflows database: each is safe to run twice (the order's
status says whether it already happened).
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings

from vendas import services
from workflows.contract import AutoStep, HumanStep, StepContext, WorkflowDefinition

APPROVAL_DEADLINE = timedelta(hours=settings.VENDAS_APPROVAL_HOURS)
UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
MONEY_PATTERN = r"^-?[0-9]{1,16}(\.[0-9]{1,2})?$"

DECISION_SCHEMA = {
    "type": "object",
    "required": ["approved"],
    "properties": {
        "approved": {"type": "boolean", "description": "true confirms the order; false cancels it."},
        "comment": {"type": "string", "maxLength": 1000, "description": "Required when rejecting."},
    },
    "additionalProperties": False,
    # A rejection says why: the comment becomes the cancelled order's reason.
    "if": {"properties": {"approved": {"const": False}}},
    "then": {"required": ["comment"], "properties": {"comment": {"minLength": 1}}},
}


def decided(state) -> str:
    return "confirm" if state["decision"]["approved"] else "reject"


def confirm(state, ctx: StepContext):
    return {
        "result": services.approval_confirm(
            order_id=state["order_id"], thread_id=ctx.thread_id, approved_by=state.get("decided_by")
        )
    }


def reject(state, ctx: StepContext):
    return {
        "result": services.approval_reject(
            order_id=state["order_id"],
            thread_id=ctx.thread_id,
            comment=state["decision"].get("comment", ""),
            rejected_by=state.get("decided_by"),
        )
    }


class SalesOrderApproval(WorkflowDefinition):
    name = services.APPROVAL_DEFINITION
    version = 1
    description = (
        "Credit approval of a sales order over its customer's credit limit: a manager other than "
        "the order's creator approves (the order is confirmed) or rejects it (cancelled); "
        "unanswered past the deadline, it escalates to an admin."
    )
    input_schema = {
        "type": "object",
        "required": ["order_id", "number", "customer_id", "total", "exposure", "credit_limit"],
        "properties": {
            "order_id": {"type": "string", "pattern": UUID_PATTERN},
            "number": {"type": "string"},
            "customer_id": {"type": "string", "pattern": UUID_PATTERN},
            "customer_name": {"type": "string"},
            "total": {"type": "string", "pattern": MONEY_PATTERN},
            "exposure": {"type": "string", "pattern": MONEY_PATTERN},
            "credit_limit": {"type": "string", "pattern": MONEY_PATTERN},
            "order_created_by": {"type": "string"},
        },
    }
    start = "approve"
    steps = (
        HumanStep(
            "approve",
            prompt="The order goes over the customer's credit limit (see state: total, exposure, "
            "credit_limit). Approve it, or reject it with a comment?",
            input_schema=DECISION_SCHEMA,
            roles=("manager",),
            forbid_starter=True,
            forbid_actors="order_created_by",
            actor_as="decided_by",
            store_as="decision",
            deadline=APPROVAL_DEADLINE,
            on_deadline="escalate",
            next=decided,
            branches=("confirm", "reject"),
        ),
        HumanStep(
            "escalate",
            prompt="No manager answered in time. Approve the order over the credit limit, or reject it "
            "with a comment?",
            input_schema=DECISION_SCHEMA,
            roles=("admin",),
            forbid_starter=True,
            forbid_actors="order_created_by",
            actor_as="decided_by",
            store_as="decision",
            next=decided,
            branches=("confirm", "reject"),
        ),
        AutoStep("confirm", confirm),
        AutoStep("reject", reject),
    )
