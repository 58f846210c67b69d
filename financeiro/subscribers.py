"""financeiro's event handlers: the postings other apps' facts cause (API.md's
postings) and the invoice of a shipped order (at once, or kept for month-end
billing when the customer is invoiced so). Each schema lists exactly the
payload fields its handler reads; the relay runs a handler once per event, in a
transaction on financeiro's database, and each posting is idempotent by its
source besides. A fact dated in a closed month is booked on the first day of
the next open one (services.first_open_day)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from erp.events import ReceivedEvent, subscribe
from financeiro import period_close, services
from financeiro.contract import CustomerSnapshot, InvoiceLineInput
from financeiro.models import PostingAccount

Purpose = PostingAccount.Purpose


@dataclass(frozen=True)
class StockReceived:
    receipt_id: UUID
    reference: str
    received_on: datetime.date
    value: Decimal


@subscribe("estoque.StockReceived", name="financeiro.post_stock_received", schema=StockReceived)
def post_stock_received(event: ReceivedEvent[StockReceived]) -> None:
    data = event.data
    services.post_value(
        debit=Purpose.INVENTORY,
        credit=Purpose.GOODS_RECEIVED,
        value=data.value,
        day=data.received_on,
        memo=f"Goods received {data.reference}",
        source="estoque.receipt",
        source_ref=str(data.receipt_id),
    )


@dataclass(frozen=True)
class StockIssued:
    order_ref: str
    issued_on: datetime.date
    value: Decimal


@subscribe("estoque.StockIssued", name="financeiro.post_stock_issued", schema=StockIssued)
def post_stock_issued(event: ReceivedEvent[StockIssued]) -> None:
    data = event.data
    services.post_value(
        debit=Purpose.COST_OF_GOODS_SOLD,
        credit=Purpose.INVENTORY,
        value=data.value,
        day=data.issued_on,
        memo=f"Goods issued {data.order_ref}",
        source="estoque.issue",
        source_ref=data.order_ref,
    )


@dataclass(frozen=True)
class StockAdjusted:
    adjustment_id: UUID
    reason: str
    adjusted_on: datetime.date
    value_delta: Decimal


@subscribe("estoque.StockAdjusted", name="financeiro.post_stock_adjusted", schema=StockAdjusted)
def post_stock_adjusted(event: ReceivedEvent[StockAdjusted]) -> None:
    data = event.data
    # A gain (positive delta) is Dr inventory / Cr adjustments; a loss the mirror.
    services.post_value(
        debit=Purpose.INVENTORY,
        credit=Purpose.INVENTORY_ADJUSTMENTS,
        value=data.value_delta,
        day=data.adjusted_on,
        memo=f"Stock count: {data.reason}"[:500],
        source="estoque.adjustment",
        source_ref=str(data.adjustment_id),
    )


@dataclass(frozen=True)
class ShippedCustomer:
    id: UUID
    name: str
    code: str = ""
    tax_id: str = ""


@dataclass(frozen=True)
class ShippedLine:
    quantity: Decimal
    unit_price: Decimal
    discount_percent: Decimal
    tax_rate: Decimal
    product_id: UUID | None = None
    sku: str = ""
    description: str = ""


@dataclass(frozen=True)
class OrderShipped:
    order_id: UUID
    number: str
    customer: ShippedCustomer
    shipped_on: datetime.date
    payment_terms_days: int
    lines: list[ShippedLine]
    tax_total: Decimal
    total: Decimal
    currency: str = ""
    # Events from before month-end billing carry no invoicing: they are invoiced at once.
    invoicing: str = "per_shipment"


@subscribe("vendas.OrderShipped", name="financeiro.invoice_shipped_order", schema=OrderShipped)
def invoice_shipped_order(event: ReceivedEvent[OrderShipped]) -> None:
    """The shipment's invoice now, or (a customer invoiced at month end) kept
    until bill_month_end issues it once the shipping month has ended."""
    # A mismatch of totals, or an invoicing financeiro does not know, raises:
    # retried, then dead-lettered for someone to look at.
    data, customer = event.data, event.data.customer
    invoicing = services.invoicing_mode(data.invoicing)
    bill = services.hold_for_month_end if invoicing == services.MONTH_END else services.invoice_order
    bill(
        customer=CustomerSnapshot(
            id=customer.id, name=customer.name, code=customer.code, tax_id=customer.tax_id
        ),
        shipped_on=data.shipped_on,
        payment_terms_days=data.payment_terms_days,
        lines=[
            InvoiceLineInput(
                quantity=line.quantity,
                unit_price=line.unit_price,
                description=line.description,
                product_id=line.product_id,
                sku=line.sku,
                discount_percent=line.discount_percent,
                tax_rate=line.tax_rate,
            )
            for line in data.lines
        ],
        order_id=data.order_id,
        order_number=data.number,
        currency=data.currency,
        total=data.total,
        tax_total=data.tax_total,
    )


@dataclass(frozen=True)
class RunEnded:
    thread_id: UUID
    definition: str


def _close_run_ended(event: ReceivedEvent[RunEnded]) -> None:
    if event.data.definition == period_close.DEFINITION:
        period_close.reopen(thread_id=event.data.thread_id)


@subscribe("workflows.RunFailed", name="financeiro.period_close_failed", schema=RunEnded)
def period_close_failed(event: ReceivedEvent[RunEnded]) -> None:
    # Checks failed (or a step broke): the month takes postings again until the next try.
    _close_run_ended(event)


@subscribe("workflows.RunCancelled", name="financeiro.period_close_cancelled", schema=RunEnded)
def period_close_cancelled(event: ReceivedEvent[RunEnded]) -> None:
    _close_run_ended(event)
