"""estoque's event handlers: the replenishment process (estoque/replenishments.py,
estoque/workflows.py). Each schema lists exactly the payload fields its handler
reads; the relay runs a handler once per event, in a transaction on estoque's
database."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from erp.events import ReceivedEvent, subscribe
from estoque import replenishments


@dataclass(frozen=True)
class BelowReorderPoint:
    product_id: UUID
    warehouse_id: UUID
    sku: str
    available: Decimal
    reorder_point: Decimal
    reorder_quantity: Decimal


@subscribe("estoque.StockBelowReorderPoint", name="estoque.start_replenishment", schema=BelowReorderPoint)
def start_replenishment(event: ReceivedEvent[BelowReorderPoint]) -> None:
    data = event.data
    replenishments.start(
        product_id=data.product_id,
        warehouse_id=data.warehouse_id,
        sku=data.sku,
        reorder_quantity=data.reorder_quantity,
        available=data.available,
        reorder_point=data.reorder_point,
        event_id=event.id,  # the run's idempotency key: a redelivery finds the run it started
    )


@dataclass(frozen=True)
class ReceivedLine:
    product_id: UUID
    quantity: Decimal


@dataclass(frozen=True)
class GoodsReceived:
    warehouse_id: UUID
    reference: str
    lines: list[ReceivedLine]


@subscribe("estoque.StockReceived", name="estoque.replenishment_goods_received", schema=GoodsReceived)
def replenishment_goods_received(event: ReceivedEvent[GoodsReceived]) -> None:
    replenishments.goods_received(
        warehouse_id=event.data.warehouse_id,
        reference=event.data.reference,
        quantities=[(line.product_id, line.quantity) for line in event.data.lines],
    )


@dataclass(frozen=True)
class RunEnded:
    thread_id: UUID
    definition: str


def _run_ended(event: ReceivedEvent[RunEnded]) -> None:
    replenishments.run_ended(thread_id=event.data.thread_id, definition=event.data.definition)


@subscribe("workflows.RunCancelled", name="estoque.replenishment_run_cancelled", schema=RunEnded)
def replenishment_run_cancelled(event: ReceivedEvent[RunEnded]) -> None:
    _run_ended(event)


@subscribe("workflows.RunFailed", name="estoque.replenishment_run_failed", schema=RunEnded)
def replenishment_run_failed(event: ReceivedEvent[RunEnded]) -> None:
    # A failed run no longer serves the pair: close it (as cancelled) so the
    # next drop can start another, rather than wait for an admin's retry.
    _run_ended(event)
