"""Events vendas publishes (EVENTS.md), each in the transaction of the change.

Declared ahead of the app's services so the event contract test holds
financeiro's subscriber to this shape: money has 2 places, quantities 3, unit
prices 4; ``discount_percent`` and ``tax_rate`` are percents; a line's
``subtotal`` is after its discount, ``tax`` on that subtotal, each rounded half
up to the cent."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from uuid import UUID

from erp.events import DomainEvent


@dataclass(frozen=True, kw_only=True)
class OrderConfirmed(DomainEvent):
    event_type = "vendas.OrderConfirmed"
    order_id: UUID
    number: str
    customer_id: UUID
    warehouse_id: UUID
    confirmed_on: date
    total: Decimal


@dataclass(frozen=True)
class ShippedCustomer:
    id: UUID
    code: str
    name: str
    tax_id: str


@dataclass(frozen=True)
class ShippedLine:
    product_id: UUID
    sku: str
    description: str
    quantity: Decimal
    unit_price: Decimal
    discount_percent: Decimal
    tax_rate: Decimal
    subtotal: Decimal
    tax: Decimal
    total: Decimal


@dataclass(frozen=True, kw_only=True)
class OrderShipped(DomainEvent):
    event_type = "vendas.OrderShipped"
    order_id: UUID
    number: str
    customer: ShippedCustomer
    warehouse_id: UUID
    shipped_on: date
    payment_terms_days: int
    # The customer's invoicing when the order shipped: "per_shipment" (finance invoices it
    # now) or "month_end" (finance bills it once the shipping month has ended).
    invoicing: str
    currency: str
    lines: list[ShippedLine]
    subtotal: Decimal
    discount_total: Decimal
    tax_total: Decimal
    total: Decimal


@dataclass(frozen=True, kw_only=True)
class OrderCancelled(DomainEvent):
    event_type = "vendas.OrderCancelled"
    order_id: UUID
    number: str
    reason: str
