"""The only place vendas calls other apps, through their contracts, and where
their answers and errors become vendas' terms.

Every call here runs outside any vendas transaction (ARCHITECTURE: never call
another app inside an open transaction of your own): the callers in
vendas/services.py write down what they are about to ask first, and what came
of it after.
"""

from __future__ import annotations

import contextlib
import datetime
import io
import json
import time
import zoneinfo
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.core.management import call_command
from django.utils import timezone

from core.contract import CompanyInfo, CoreService
from erp import services
from estoque.contract import (
    Availability,
    InsufficientStockError,
    InvalidStockInputError,
    Line,
    ProductInfo,
    ReservationConsumedError,
    ReservationInfo,
    Shipment,
    StockError,
    StockService,
)
from financeiro.contract import (
    AllocationInput,
    InvoiceInfo,
    LedgerService,
    PaymentInfo,
    PeriodInfo,
    PeriodNotClosableError,
)
from workflows.contract import RunFinishedError, RunInfo, WorkflowService


def core() -> CoreService:
    return services.get("core")


def estoque() -> StockService:
    return services.get("estoque")


def financeiro() -> LedgerService:
    return services.get("financeiro")


def workflows() -> WorkflowService:
    return services.get("workflows")


# --- What vendas hears back -------------------------------------------------------


@dataclass(frozen=True)
class Short:
    """A product estoque cannot hold enough of."""

    product_id: UUID
    requested: Decimal
    available: Decimal


class StockShortageError(Exception):
    def __init__(self, short: Sequence[Short]):
        super().__init__("not enough stock")
        self.short = tuple(short)


class StockRefusedError(Exception):
    """estoque refused for a reason other than quantities (an inactive product,
    a released reference): definite, nothing is held."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class WarehouseRefusedError(StockRefusedError):
    pass


# --- Company -----------------------------------------------------------------------


# The company's settings change rarely and every confirm and shipment reads them:
# kept per process for a minute.
COMPANY_TTL_SECONDS = 60.0
_company: list[tuple[float, CompanyInfo]] = []


def company() -> CompanyInfo:
    now = time.monotonic()
    if not _company or now - _company[0][0] > COMPANY_TTL_SECONDS:
        _company[:] = [(now, core().company())]
    return _company[0][1]


def today(info: CompanyInfo | None = None) -> datetime.date:
    """The company's business date (its timezone; the server's if unknown)."""
    info = info or company()
    try:
        return timezone.localdate(timezone=zoneinfo.ZoneInfo(info.timezone))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return timezone.localdate()


# --- estoque -------------------------------------------------------------------------


def products(product_ids: Sequence[UUID]) -> dict[UUID, ProductInfo]:
    return {product.id: product for product in estoque().products(ids=list(product_ids))}


def check_warehouse(warehouse_id: UUID) -> None:
    """WarehouseRefusedError unless estoque knows the warehouse as active."""
    try:
        estoque().availability(warehouse_id=warehouse_id, product_ids=[])
    except InvalidStockInputError as exc:
        raise WarehouseRefusedError(exc.message) from None


def reserve(*, order_ref: str, warehouse_id: UUID, quantities: Mapping[UUID, Decimal], actor_id: UUID | None):
    """Hold every quantity or none: StockShortageError, StockRefusedError. Any other
    exception means the outcome is unknown."""
    lines = [Line(product_id=product_id, quantity=quantity) for product_id, quantity in quantities.items()]
    try:
        return estoque().reserve(
            order_ref=order_ref, warehouse_id=warehouse_id, lines=lines, actor_id=actor_id
        )
    except InsufficientStockError as exc:
        raise StockShortageError(
            [Short(product_id=s.product_id, requested=s.requested, available=s.available) for s in exc.short]
        ) from None
    except StockError as exc:
        raise StockRefusedError(exc.message) from None


def release(*, order_ref: str, actor_id: UUID | None = None) -> ReservationInfo | None:
    """Give the stock back; None when it has shipped already (nothing to release)."""
    try:
        return estoque().release(order_ref=order_ref, actor_id=actor_id)
    except ReservationConsumedError:
        return None


def ship(*, order_ref: str, actor_id: UUID | None) -> Shipment:
    """Issue the reserved stock (idempotent by ``order_ref``): StockRefusedError
    when estoque holds nothing under it."""
    try:
        return estoque().ship(order_ref=order_ref, actor_id=actor_id)
    except StockError as exc:
        raise StockRefusedError(exc.message) from None


# --- financeiro ------------------------------------------------------------------------


def receivable_balance(customer_id: UUID) -> Decimal:
    """What the customer owes finance now (open invoices less unallocated credit)."""
    return financeiro().receivable_balance(customer_id=customer_id)


# --- workflows ---------------------------------------------------------------------------


def start_run(*, definition: str, input: Mapping[str, Any], started_by: UUID | None, key: str) -> RunInfo:
    return workflows().start(definition=definition, input=input, started_by=started_by, idempotency_key=key)


def cancel_run(*, thread_id: UUID, actor_id: UUID | None, reason: str) -> None:
    """Cancel the run if it is still going (a finished one is left as it is)."""
    with contextlib.suppress(RunFinishedError):
        workflows().cancel(thread_id=thread_id, actor_id=actor_id, reason=reason)


# --- Demo data (vendas' seed_demo) ----------------------------------------------------------


@dataclass(frozen=True)
class DemoStock:
    """estoque's demo: its warehouses by code and products by SKU (ids), and what
    this run of its seed added (empty when it existed already)."""

    warehouses: Mapping[str, UUID]
    products: Mapping[str, UUID]
    added: tuple[str, ...]


def seed_demo_stock() -> DemoStock:
    """Run estoque's demo seed (idempotent) and learn its ids. Through its command,
    not its contract: estoque's contract has no warehouse lookup (a command is
    estoque's interface too, and adds no import edge)."""
    out = io.StringIO()
    call_command("seed_estoque_demo", as_json=True, stdout=out)
    data = json.loads(out.getvalue())
    return DemoStock(
        warehouses={code: UUID(pk) for code, pk in data["warehouses"].items()},
        products={sku: UUID(pk) for sku, pk in data["products"].items()},
        added=tuple(data["added"]),
    )


def invoice(invoice_id: UUID) -> InvoiceInfo:
    return financeiro().invoice(invoice_id=invoice_id)


def record_payment(
    *,
    customer_id: UUID,
    invoice_id: UUID,
    amount: Decimal,
    day: datetime.date,
    method: str = "bank_transfer",
    reference: str = "",
    actor_id: UUID | None = None,
) -> PaymentInfo:
    """A payment of the customer's, all of it allocated to ``invoice_id``."""
    return financeiro().record_payment(
        customer_id=customer_id,
        date=day,
        amount=amount,
        method=method,
        allocations=[AllocationInput(invoice_id=invoice_id, amount=amount)],
        reference=reference,
        actor_id=actor_id,
    )


def periods() -> list[PeriodInfo]:
    return financeiro().periods()


class PeriodRefusedError(Exception):
    """financeiro will not close the month now (an earlier one is open, it is closing)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def close_period(*, year: int, month: int, actor_id: UUID | None = None) -> PeriodInfo:
    """Close the month: PeriodRefusedError when financeiro refuses to now."""
    try:
        return financeiro().close_period(year=year, month=month, actor_id=actor_id)
    except PeriodNotClosableError as exc:
        raise PeriodRefusedError(exc.message) from None


def availability(warehouse_id: UUID, product_ids: Sequence[UUID]) -> dict[UUID, Availability]:
    return {
        a.product_id: a for a in estoque().availability(warehouse_id=warehouse_id, product_ids=product_ids)
    }


def run(thread_id: UUID) -> RunInfo:
    return workflows().get(thread_id=thread_id)
