"""Public surface of ``vendas``: the ``SalesService`` Protocol, the frozen
dataclasses it takes and returns, and its domain errors. Imports nothing else
of the app, no framework, and only ``erp.errors`` of the kernel, so a remote
proxy can implement it where vendas is not installed.

An order moves ``draft`` → ``confirmed`` (or ``pending_approval`` → its
approval run → ``confirmed``, back to ``draft``, or ``cancelled``) →
``shipped`` → ``invoiced`` → ``paid``; ``draft``, ``pending_approval`` and
``confirmed`` orders can be cancelled. Any other move raises
OrderStateError (409).

Money has 2 places, quantities 3, unit prices 4; ``discount_percent`` and
``tax_rate`` are percents. Each line is priced on its own and rounded half up
to the cent: gross = quantity × unit price, discount = gross × discount % / 100,
subtotal = gross − discount, tax = subtotal × tax rate / 100, line total =
subtotal + tax. The order's subtotal, discount, tax and total are the sums of
its lines' (the invoice finance issues adds up the same way).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Protocol
from uuid import UUID

from erp.errors import ConflictError, DomainError, InvalidError, NotFoundError

# --- What callers send --------------------------------------------------------


@dataclass(frozen=True)
class OrderLineInput:
    """A line to sell; ``unit_price`` None takes the price list's, and
    ``tax_rate`` None the price list's tax rate (0 without one)."""

    product_id: UUID
    quantity: Decimal
    unit_price: Decimal | None = None
    discount_percent: Decimal = Decimal("0")
    tax_rate: Decimal | None = None


# --- What vendas answers --------------------------------------------------------


@dataclass(frozen=True)
class CustomerInfo:
    id: UUID
    code: str
    name: str
    tax_id: str
    email: str
    credit_limit: Decimal  # 0: no limit
    payment_terms_days: int
    is_active: bool
    # per_shipment: finance invoices each shipment; month_end: a month's shipments once it has ended.
    invoicing: str = "per_shipment"


@dataclass(frozen=True)
class OrderLineInfo:
    id: UUID
    product_id: UUID
    sku: str
    description: str
    quantity: Decimal
    unit_price: Decimal
    discount_percent: Decimal
    tax_rate: Decimal
    discount: Decimal
    subtotal: Decimal
    tax: Decimal
    line_total: Decimal


@dataclass(frozen=True)
class OrderInfo:
    id: UUID
    number: str
    customer_id: UUID
    warehouse_id: UUID
    status: str  # draft | pending_approval | confirmed | shipped | invoiced | paid | cancelled
    order_date: date
    payment_terms_days: int
    lines: tuple[OrderLineInfo, ...]
    subtotal: Decimal
    discount_total: Decimal
    tax_total: Decimal
    total: Decimal
    workflow: UUID | None  # the approval run's thread id
    status_reason: str
    invoice_id: UUID | None


# --- Errors (the API maps each base once: 400, 403, 404, 409) ----------------------


class SalesError(DomainError):
    code = "sales_error"


class InvalidSalesInputError(SalesError, InvalidError):
    """Bad input: each FieldError names the field (``lines.2.quantity``)."""

    code = "invalid"


class CustomerNotFoundError(SalesError, NotFoundError):
    code = "customer_not_found"
    default_message = "No customer has this id."


class OrderNotFoundError(SalesError, NotFoundError):
    code = "order_not_found"
    default_message = "No sales order has this id."


class OrderStateError(SalesError, ConflictError):
    """The order's status forbids this (editing a confirmed order, shipping a draft)."""

    code = "invalid_transition"
    default_message = "The order's status does not allow this."


class ReservationRefusedError(SalesError, ConflictError):
    """estoque refused to hold or ship the stock for another reason than
    quantities (a product deactivated since the draft, a reservation released)."""

    code = "reservation_refused"
    default_message = "The stock for this order cannot be held."


class CustomerInUseError(SalesError, ConflictError):
    code = "customer_in_use"
    default_message = "The customer has orders and cannot be deleted; deactivate it instead."


class OutOfStockError(SalesError, ConflictError):
    """Not enough available stock for some lines; ``lines`` (and the body's)
    name each one: ``{line, product, sku, requested, available}``."""

    code = "insufficient_stock"
    default_message = "Not enough stock for some lines of the order."

    def __init__(self, lines: Sequence[ShortOrderLine], message: str | None = None):
        self.lines = tuple(lines)
        super().__init__(
            message,
            extra={
                "lines": [
                    {
                        "line": str(line.line_id),
                        "product": str(line.product_id),
                        "sku": line.sku,
                        "requested": str(line.requested),
                        "available": str(line.available),
                    }
                    for line in self.lines
                ]
            },
        )


@dataclass(frozen=True)
class ShortOrderLine:
    line_id: UUID
    product_id: UUID
    sku: str
    requested: Decimal
    available: Decimal


class SalesService(Protocol):
    def customer(self, *, customer_id: UUID) -> CustomerInfo:
        """CustomerNotFoundError."""
        ...

    def order(self, *, order_id: UUID) -> OrderInfo:
        """OrderNotFoundError."""
        ...

    def order_create(
        self,
        *,
        customer_id: UUID,
        warehouse_id: UUID,
        lines: Sequence[OrderLineInput],
        order_date: date | None = None,
        notes: str = "",
        actor_id: UUID | None = None,
    ) -> OrderInfo:
        """A draft with the next number of its year. InvalidSalesInputError
        (unknown or inactive customer, warehouse or product, a line without a
        price and none in the price list)."""
        ...

    def order_confirm(self, *, order_id: UUID, actor_id: UUID | None = None) -> OrderInfo:
        """Within the customer's credit limit: reserve every line's stock and
        confirm (OutOfStockError names the short lines; nothing is held). Over
        it: ``pending_approval`` with an approval run. OrderStateError."""
        ...

    def order_ship(self, *, order_id: UUID, actor_id: UUID | None = None) -> OrderInfo:
        """Issue the reserved stock and publish ``vendas.OrderShipped``. OrderStateError."""
        ...

    def order_cancel(self, *, order_id: UUID, reason: str = "", actor_id: UUID | None = None) -> OrderInfo:
        """Cancel and release the stock held. OrderStateError once shipped."""
        ...
