"""Public surface of ``estoque``: the ``StockService`` Protocol, the frozen
dataclasses it takes and returns, and its domain errors. Imports nothing else of
the app, no framework, and only ``erp.errors`` of the kernel, so a remote proxy
can implement it where estoque is not installed.

Every command is idempotent by its reference (a receipt's ``reference``, a
reservation's ``order_ref``): a repeat with the same data returns the first
result and has no second effect; the same reference with other data raises
ReferenceConflictError. A released ``order_ref`` is spent (reserve again under a
new one, e.g. the order id plus an attempt number), and releasing an
``order_ref`` estoque never saw leaves a tombstone, so a reserve that arrives
after its caller gave up raises ReservationReleasedError instead of holding
stock forever.

Quantities are Decimals with 3 places, unit costs 4, values 2. Move quantities
and values are signed (+ into stock, - out of it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol
from uuid import UUID

from erp.errors import ConflictError, DomainError, InvalidError, NotFoundError

# --- What callers send --------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """A quantity of a product (reserve, transfer)."""

    product_id: UUID
    quantity: Decimal


@dataclass(frozen=True)
class ReceiptLine:
    product_id: UUID
    quantity: Decimal
    unit_cost: Decimal


@dataclass(frozen=True)
class CountLine:
    """A stock count: what is physically there."""

    product_id: UUID
    counted_quantity: Decimal


# --- What estoque answers -----------------------------------------------------


@dataclass(frozen=True)
class ProductInfo:
    id: UUID
    sku: str
    name: str
    description: str
    unit: str
    reorder_point: Decimal
    reorder_quantity: Decimal
    is_active: bool
    average_cost: Decimal
    on_hand: Decimal
    stock_value: Decimal


@dataclass(frozen=True)
class Availability:
    product_id: UUID
    warehouse_id: UUID
    on_hand: Decimal
    reserved: Decimal
    available: Decimal


@dataclass(frozen=True)
class Move:
    """One ledger line."""

    id: UUID
    product_id: UUID
    sku: str
    warehouse_id: UUID
    kind: str  # receipt | issue | adjustment | transfer_in | transfer_out
    quantity: Decimal
    unit_cost: Decimal
    value: Decimal
    reference: str
    created_at: datetime
    created_by: UUID | None


@dataclass(frozen=True)
class Receipt:
    id: UUID
    warehouse_id: UUID
    reference: str
    received_on: date
    moves: tuple[Move, ...]
    value: Decimal


@dataclass(frozen=True)
class Adjustment:
    id: UUID
    warehouse_id: UUID
    reason: str
    reference: str
    adjusted_on: date
    moves: tuple[Move, ...]  # only the lines whose count differed
    value_delta: Decimal


@dataclass(frozen=True)
class Transfer:
    id: UUID
    from_warehouse_id: UUID
    to_warehouse_id: UUID
    reference: str
    transferred_on: date
    moves: tuple[Move, ...]  # transfer_out then transfer_in per line


@dataclass(frozen=True)
class ReservedLine:
    product_id: UUID
    sku: str
    quantity: Decimal


@dataclass(frozen=True)
class ReservationInfo:
    order_ref: str
    warehouse_id: UUID | None  # None for a tombstone
    status: str  # active | released | consumed
    lines: tuple[ReservedLine, ...]


@dataclass(frozen=True)
class ShippedLine:
    product_id: UUID
    sku: str
    quantity: Decimal
    unit_cost: Decimal
    value: Decimal  # the exact amount taken out of the stock value


@dataclass(frozen=True)
class Shipment:
    order_ref: str
    warehouse_id: UUID
    shipped_on: date
    lines: tuple[ShippedLine, ...]
    value: Decimal


@dataclass(frozen=True)
class ShortLine:
    product_id: UUID
    sku: str
    requested: Decimal
    available: Decimal


# --- Errors (the API maps each base once: 400, 404, 409) ----------------------


class StockError(DomainError):
    code = "stock_error"


class InvalidStockInputError(StockError, InvalidError):
    """Bad input: each FieldError names the field (``lines.2.quantity``)."""

    code = "invalid"


class UnknownProductError(InvalidStockInputError):
    code = "unknown_product"
    default_message = "Unknown product."


class InactiveProductError(InvalidStockInputError):
    code = "inactive_product"
    default_message = "The product is inactive."


class UnknownWarehouseError(InvalidStockInputError):
    code = "unknown_warehouse"
    default_message = "Unknown or inactive warehouse."


class ProductNotFoundError(StockError, NotFoundError):
    code = "product_not_found"
    default_message = "No product has this id."


class ReservationNotFoundError(StockError, NotFoundError):
    code = "reservation_not_found"
    default_message = "No reservation has this order_ref."


class InsufficientStockError(StockError, ConflictError):
    """Not enough available stock; ``short`` (and the body's ``lines``) names
    every line that cannot be met."""

    code = "insufficient_stock"
    default_message = "Not enough stock."

    def __init__(self, short: Sequence[ShortLine], message: str | None = None):
        self.short = tuple(short)
        super().__init__(
            message,
            extra={
                "lines": [
                    {
                        "product": str(line.product_id),
                        "sku": line.sku,
                        "requested": str(line.requested),
                        "available": str(line.available),
                    }
                    for line in self.short
                ]
            },
        )


class ReferenceConflictError(StockError, ConflictError):
    """The reference was already used for a command with other data."""

    code = "reference_conflict"
    default_message = "This reference was already used with different data."


class ReservationReleasedError(StockError, ConflictError):
    """The order_ref was released (or released before it was reserved): spent."""

    code = "reservation_released"
    default_message = "This reservation was released; reserve under a new order_ref."


class ReservationConsumedError(StockError, ConflictError):
    """The reservation has shipped: it can no longer be released."""

    code = "reservation_consumed"
    default_message = "This reservation has already shipped."


class BelowReservedError(StockError, ConflictError):
    """A count or transfer would leave less on hand than is reserved."""

    code = "below_reserved"
    default_message = "The count is below the reserved quantity; release reservations first."


class ProductInUseError(StockError, ConflictError):
    code = "product_in_use"
    default_message = "The product has stock history and cannot be deleted; deactivate it instead."


class WarehouseInUseError(StockError, ConflictError):
    code = "warehouse_in_use"
    default_message = "The warehouse has stock history and cannot be deleted; deactivate it instead."


class StockService(Protocol):
    def products(
        self, *, ids: Sequence[UUID] | None = None, skus: Sequence[str] | None = None
    ) -> list[ProductInfo]:
        """The products with these ids or SKUs (those that exist, in SKU order)."""
        ...

    def stock_value(self) -> Decimal:
        """The running value of all stock, to the cent: what finance's
        inventory account must equal."""
        ...

    def availability(self, *, warehouse_id: UUID, product_ids: Sequence[UUID]) -> list[Availability]:
        """One entry per product asked for (zeros where the warehouse holds none).
        UnknownWarehouseError."""
        ...

    def receive(
        self,
        *,
        warehouse_id: UUID,
        reference: str,
        lines: Sequence[ReceiptLine],
        actor_id: UUID | None = None,
    ) -> Receipt:
        """Goods in at ``unit_cost``; updates the moving average. Publishes
        ``estoque.StockReceived``. Idempotent by ``reference``."""
        ...

    def adjust(
        self,
        *,
        warehouse_id: UUID,
        reason: str,
        lines: Sequence[CountLine],
        reference: str | None = None,
        actor_id: UUID | None = None,
    ) -> Adjustment:
        """Set each product's on-hand to the counted quantity (the difference is
        an adjustment move at the average cost). Publishes
        ``estoque.StockAdjusted``. BelowReservedError."""
        ...

    def transfer(
        self,
        *,
        from_warehouse_id: UUID,
        to_warehouse_id: UUID,
        lines: Sequence[Line],
        reference: str | None = None,
        actor_id: UUID | None = None,
    ) -> Transfer:
        """Move available stock between warehouses. Publishes
        ``estoque.StockTransferred``. InsufficientStockError."""
        ...

    def reserve(
        self, *, order_ref: str, warehouse_id: UUID, lines: Sequence[Line], actor_id: UUID | None = None
    ) -> ReservationInfo:
        """Hold stock for every line or for none: InsufficientStockError names
        every short line. Idempotent by ``order_ref``; ReservationReleasedError
        when it was released; ReferenceConflictError for other data."""
        ...

    def release(self, *, order_ref: str, actor_id: UUID | None = None) -> ReservationInfo:
        """Give the held stock back. Idempotent; an unknown ``order_ref`` leaves a
        tombstone. ReservationConsumedError once shipped."""
        ...

    def ship(self, *, order_ref: str, actor_id: UUID | None = None) -> Shipment:
        """Consume the reservation into issue moves at the average cost, and
        return the value per line. Publishes ``estoque.StockIssued``. Idempotent;
        ReservationNotFoundError, ReservationReleasedError."""
        ...
