"""Events estoque publishes, each in the transaction of the change.

``value`` fields are the exact amounts the stock value changed by (2 places),
so finance's inventory account and estoque's stock value agree to the cent:
received = issued + adjusted + remaining, always. Subscribers name these by
type string and read them into their own schemas; they never import this module.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from uuid import UUID

from erp.events import DomainEvent


@dataclass(frozen=True)
class ValuedLine:
    product_id: UUID
    sku: str
    quantity: Decimal
    unit_cost: Decimal
    value: Decimal


@dataclass(frozen=True)
class AdjustedLine:
    product_id: UUID
    sku: str
    quantity_delta: Decimal
    value_delta: Decimal


@dataclass(frozen=True)
class QuantityLine:
    product_id: UUID
    sku: str
    quantity: Decimal


@dataclass(frozen=True, kw_only=True)
class StockReceived(DomainEvent):
    event_type = "estoque.StockReceived"
    receipt_id: UUID
    warehouse_id: UUID
    reference: str
    received_on: date
    lines: list[ValuedLine]
    value: Decimal


@dataclass(frozen=True, kw_only=True)
class StockIssued(DomainEvent):
    event_type = "estoque.StockIssued"
    order_ref: str
    warehouse_id: UUID
    issued_on: date
    lines: list[ValuedLine]
    value: Decimal


@dataclass(frozen=True, kw_only=True)
class StockAdjusted(DomainEvent):
    event_type = "estoque.StockAdjusted"
    adjustment_id: UUID
    warehouse_id: UUID
    reason: str
    adjusted_on: date
    lines: list[AdjustedLine]
    value_delta: Decimal


@dataclass(frozen=True, kw_only=True)
class StockTransferred(DomainEvent):
    event_type = "estoque.StockTransferred"
    transfer_id: UUID
    from_warehouse_id: UUID
    to_warehouse_id: UUID
    transferred_on: date
    lines: list[QuantityLine]


@dataclass(frozen=True, kw_only=True)
class StockReserved(DomainEvent):
    event_type = "estoque.StockReserved"
    order_ref: str
    warehouse_id: UUID
    lines: list[QuantityLine]


@dataclass(frozen=True, kw_only=True)
class ReservationReleased(DomainEvent):
    event_type = "estoque.ReservationReleased"
    order_ref: str
    warehouse_id: UUID | None  # None: released before it was ever reserved (a tombstone)
    lines: list[QuantityLine]


@dataclass(frozen=True, kw_only=True)
class StockBelowReorderPoint(DomainEvent):
    event_type = "estoque.StockBelowReorderPoint"
    product_id: UUID
    sku: str
    warehouse_id: UUID
    available: Decimal
    reorder_point: Decimal
    reorder_quantity: Decimal
