"""Events financeiro publishes, each in the transaction of the change.
Subscribers name them by type string and read them into their own schemas
(vendas follows its orders' invoices); they never import this module."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from uuid import UUID

from erp.events import DomainEvent


@dataclass(frozen=True, kw_only=True)
class InvoiceIssued(DomainEvent):
    event_type = "financeiro.InvoiceIssued"
    invoice_id: UUID
    number: str
    order_id: UUID | None
    customer_id: UUID
    issue_date: date
    due_date: date
    subtotal: Decimal
    tax_total: Decimal
    total: Decimal


@dataclass(frozen=True, kw_only=True)
class InvoicePaid(DomainEvent):
    event_type = "financeiro.InvoicePaid"
    invoice_id: UUID
    number: str
    order_id: UUID | None
    customer_id: UUID
    paid_on: date
    total: Decimal


@dataclass(frozen=True)
class PaymentAllocated:
    invoice_id: UUID
    amount: Decimal


@dataclass(frozen=True, kw_only=True)
class PaymentRecorded(DomainEvent):
    event_type = "financeiro.PaymentRecorded"
    payment_id: UUID
    customer_id: UUID
    date: date
    amount: Decimal
    allocations: list[PaymentAllocated]


@dataclass(frozen=True, kw_only=True)
class PeriodClosed(DomainEvent):
    event_type = "financeiro.PeriodClosed"
    period_id: UUID
    year: int
    month: int
    closed_by: UUID | None
