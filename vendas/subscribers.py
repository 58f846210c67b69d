"""vendas' event handlers: what finance and the workflow engine tell an order.
Each schema lists exactly the payload fields its handler reads; the relay runs
a handler once per event, in a transaction on vendas' database."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from uuid import UUID

from erp.events import ReceivedEvent, subscribe
from vendas import services


@dataclass(frozen=True)
class InvoiceIssued:
    invoice_id: UUID
    number: str
    order_id: UUID | None


@subscribe("financeiro.InvoiceIssued", name="vendas.mark_order_invoiced", schema=InvoiceIssued)
def mark_order_invoiced(event: ReceivedEvent[InvoiceIssued]) -> None:
    data = event.data
    if data.order_id is not None:  # invoices finance issued by hand belong to no order
        services.order_invoiced(
            order_id=data.order_id, invoice_id=data.invoice_id, invoice_number=data.number
        )


@dataclass(frozen=True)
class InvoicePaid:
    invoice_id: UUID
    order_id: UUID | None
    paid_on: datetime.date


@subscribe("financeiro.InvoicePaid", name="vendas.mark_order_paid", schema=InvoicePaid)
def mark_order_paid(event: ReceivedEvent[InvoicePaid]) -> None:
    data = event.data
    if data.order_id is not None:
        services.order_paid(order_id=data.order_id, invoice_id=data.invoice_id, paid_on=data.paid_on)


@dataclass(frozen=True)
class RunEnded:
    thread_id: UUID
    definition: str


def _approval_ended(event: ReceivedEvent[RunEnded], how: str) -> None:
    if event.data.definition == services.APPROVAL_DEFINITION:
        services.approval_run_ended(thread_id=event.data.thread_id, how=how)


@subscribe("workflows.RunFailed", name="vendas.approval_failed", schema=RunEnded)
def approval_failed(event: ReceivedEvent[RunEnded]) -> None:
    _approval_ended(event, "failed")


@subscribe("workflows.RunCancelled", name="vendas.approval_cancelled", schema=RunEnded)
def approval_cancelled(event: ReceivedEvent[RunEnded]) -> None:
    _approval_ended(event, "cancelled")
