"""estoque's workflow definitions (registered with the engine when the class is
created; estoque.apps imports this module).

``stock_replenishment``: started by estoque's subscriber to its own
StockBelowReorderPoint (estoque/replenishments.py). It proposes the product's
reorder quantity; a manager approves (optionally with another quantity) or
rejects; an approved run waits for the ``goods_received`` signal, which the
subscriber to StockReceived sends when a receipt's reference is the run's
``thread_id`` (goods that came before the approval are noted on the
replenishment, and the run closes as received as soon as it is approved). Every way it ends closes the replenishment (received, rejected,
expired; cancelled or failed runs through the engine's events) and so clears
the pending flag: the next drop below the reorder point may start another run.

The closing steps write to estoque's database, outside the step's own
transaction on the workflows database: they are idempotent by thread_id
(``replenishments.close`` changes only an open replenishment) and return the
same update from the same state, so a step that runs twice has one effect.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.conf import settings

from estoque import replenishments
from workflows.contract import AutoStep, HumanStep, StepContext, WaitStep, WorkflowDefinition

# How long a manager has to answer, and how long an approved order may take to
# arrive; past either the replenishment expires (settings, from the environment).
APPROVAL_DEADLINE = timedelta(hours=settings.ESTOQUE_REPLENISHMENT_APPROVAL_HOURS)
RECEIPT_DEADLINE = timedelta(days=settings.ESTOQUE_REPLENISHMENT_RECEIPT_DAYS)

SIGNAL = replenishments.SIGNAL
# A quantity as text: up to 15 digits and 3 decimal places.
QUANTITY_PATTERN = r"^[0-9]{1,15}(\.[0-9]{1,3})?$"
# The same, greater than zero (what a manager may order).
POSITIVE_QUANTITY_PATTERN = r"^(?![0.]+$)[0-9]{1,15}(\.[0-9]{1,3})?$"
UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"

APPROVAL_SCHEMA = {
    "type": "object",
    "required": ["approved"],
    "properties": {
        "approved": {"type": "boolean"},
        "quantity": {
            "type": "string",
            "pattern": POSITIVE_QUANTITY_PATTERN,
            "description": "The quantity to order, if not the proposed one (> 0, up to 3 decimals).",
        },
        "comment": {"type": "string", "maxLength": 1000},
    },
    "additionalProperties": False,
}

RECEIPT_SCHEMA = {
    "type": "object",
    "required": ["quantity"],
    "properties": {"quantity": {"type": "string", "pattern": QUANTITY_PATTERN}},
    "additionalProperties": False,
}


def propose(state, ctx: StepContext):
    return {"proposed_quantity": state["reorder_quantity"]}


def decided(state) -> str:
    return "order" if state["approve"]["approved"] else "close_rejected"


def order(state, ctx: StepContext):
    quantity = replenishments.quantity_text(state["approve"].get("quantity") or state["proposed_quantity"])
    replenishments.record_approved(thread_id=ctx.thread_id, quantity=Decimal(quantity))
    update = {"approved_quantity": quantity}
    # The receipt may have come before the approval: then there is nothing to wait for.
    arrived = replenishments.noted_receipt(thread_id=ctx.thread_id)
    if arrived is not None:
        update["receipt"] = {"quantity": replenishments.quantity_text(arrived)}
    return update


def ordered(state) -> str:
    return "close_received" if "receipt" in state else "await_receipt"


def close_received(state, ctx: StepContext):
    quantity = replenishments.quantity_text(state["receipt"]["quantity"])
    replenishments.record_received(thread_id=ctx.thread_id, quantity=Decimal(quantity))
    return {"outcome": replenishments.Status.RECEIVED.value, "received_quantity": quantity}


def close_rejected(state, ctx: StepContext):
    replenishments.close(thread_id=ctx.thread_id, status=replenishments.Status.REJECTED)
    return {"outcome": replenishments.Status.REJECTED.value}


def close_expired(state, ctx: StepContext):
    replenishments.close(thread_id=ctx.thread_id, status=replenishments.Status.EXPIRED)
    return {"outcome": replenishments.Status.EXPIRED.value}


class StockReplenishment(WorkflowDefinition):
    name = replenishments.DEFINITION
    version = 1
    description = (
        "Reorder a product that fell below its reorder point in a warehouse: a manager approves "
        "(or changes the quantity, or rejects), then the run waits for the goods receipt whose "
        "reference is its thread_id."
    )
    input_schema = {
        "type": "object",
        "required": ["product_id", "warehouse_id", "sku", "reorder_quantity", "available"],
        "properties": {
            "product_id": {"type": "string", "pattern": UUID_PATTERN},
            "warehouse_id": {"type": "string", "pattern": UUID_PATTERN},
            "sku": {"type": "string"},
            "reorder_quantity": {"type": "string", "pattern": POSITIVE_QUANTITY_PATTERN},
            "available": {"type": "string", "pattern": QUANTITY_PATTERN},
            "reorder_point": {"type": "string", "pattern": QUANTITY_PATTERN},
        },
    }
    start = "propose"
    steps = (
        AutoStep("propose", propose, next="approve"),
        HumanStep(
            "approve",
            prompt="Approve the replenishment of this product (you may change the quantity), or reject it?",
            input_schema=APPROVAL_SCHEMA,
            roles=("manager",),
            deadline=APPROVAL_DEADLINE,
            on_deadline="close_expired",
            next=decided,
            branches=("order", "close_rejected"),
        ),
        AutoStep("order", order, next=ordered, branches=("await_receipt", "close_received")),
        WaitStep(
            "await_receipt",
            signal=SIGNAL,
            schema=RECEIPT_SCHEMA,
            store_as="receipt",
            deadline=RECEIPT_DEADLINE,
            on_deadline="close_expired",
            next="close_received",
        ),
        AutoStep("close_received", close_received),
        AutoStep("close_rejected", close_rejected),
        AutoStep("close_expired", close_expired),
    )
