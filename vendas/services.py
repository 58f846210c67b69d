"""vendas' services: the SalesService contract in-process, plus the writes this
app's views, admin, commands, subscribers, tasks and workflow make.

Each write runs in one transaction on vendas' database (``atomic(APP)``) and
publishes its events there. Calls to estoque, financeiro and workflows
(vendas/interfaces.py) always happen between those transactions, never inside
one, so they behave the same whether the apps share a database or not:

* **confirm** writes a ReservationAttempt (``pending``) under a fresh reference,
  asks estoque to reserve, then confirms the order and marks the attempt
  ``held``. If the reserve's outcome is unknown (a timeout, a crash) or the
  order cannot be marked (cancelled meanwhile), the reference is released; if
  even that fails, ``release_stale_reservations`` does it later.
* **ship** marks the order as shipping (so a cancel keeps its hands off), asks
  estoque to ship (idempotent by the reference, so a retry after an unknown
  outcome is safe), then marks it shipped and publishes OrderShipped.
* **cancel** marks the order cancelled and its held attempt ``release`` in one
  transaction, then releases.
"""

from __future__ import annotations

import datetime
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import connections
from django.db.models import F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from erp import inputs
from erp.db import alias, atomic
from erp.events import delivered_inline, publish
from erp.money import line_amounts
from vendas import events, interfaces, selectors
from vendas.contract import (
    CustomerInfo,
    CustomerInUseError,
    CustomerNotFoundError,
    InvalidSalesInputError,
    OrderInfo,
    OrderLineInfo,
    OrderNotFoundError,
    OrderStateError,
    OutOfStockError,
    ReservationRefusedError,
    SalesService,
    ShortOrderLine,
)
from vendas.models import (
    Customer,
    DeletedOrder,
    OrderCounter,
    Price,
    ReservationAttempt,
    SalesOrder,
    SalesOrderLine,
)

APP = "vendas"
APPROVAL_DEFINITION = "sales_order_approval"
ZERO = Decimal("0.00")
MONEY_PLACES = Decimal("0.01")
QUANTITY_PLACES = Decimal("0.001")
PRICE_PLACES = Decimal("0.0001")
PERCENT_PLACES = Decimal("0.0001")
MAX_QUANTITY = Decimal("999999999999.999")
MAX_PRICE = Decimal("99999999999999.9999")
MAX_MONEY = Decimal("9999999999999999.99")
HUNDRED = Decimal("100")
MAX_LINES = 500
MAX_NOTES = 2000
MAX_REASON = 1000

Status = SalesOrder.Status
Outcome = ReservationAttempt.Outcome
EDITABLE = (Status.DRAFT,)
CANCELLABLE = (Status.DRAFT, Status.PENDING_APPROVAL, Status.CONFIRMED)
# Confirmed and shipped orders are commitments finance does not see yet; invoiced ones are its receivables.
COMMITTED = (Status.CONFIRMED, Status.SHIPPED)

log = logging.getLogger(__name__)


# --- Input checks -------------------------------------------------------------------


def _invalid(field: str | None, code: str, message: str) -> InvalidSalesInputError:
    return inputs.invalid(InvalidSalesInputError, field, code, message)


def _uuid(value: Any, field: str) -> UUID:
    return inputs.uuid(value, field, error=InvalidSalesInputError)


def _decimal(value: Any, field: str, *, places: Decimal, maximum: Decimal, positive: bool = False) -> Decimal:
    return inputs.decimal(
        value, field, places=places, maximum=maximum, positive=positive, error=InvalidSalesInputError
    )


def _percent(value: Any, field: str) -> Decimal:
    return _decimal(value, field, places=PERCENT_PLACES, maximum=HUNDRED)


def _text(value: Any, field: str, *, max_length: int, required: bool = False) -> str:
    return inputs.text(value, field, max_length=max_length, required=required, error=InvalidSalesInputError)


@dataclass(frozen=True)
class _CheckedLine:
    product_id: UUID
    quantity: Decimal
    unit_price: Decimal | None
    discount_percent: Decimal
    tax_rate: Decimal | None


def _checked_line(line: Any, where: str) -> _CheckedLine:
    """An OrderLineInput's values checked (a remote caller may send anything)."""
    unit_price, tax_rate = getattr(line, "unit_price", None), getattr(line, "tax_rate", None)
    return _CheckedLine(
        product_id=_uuid(getattr(line, "product_id", None), f"{where}.product"),
        quantity=_decimal(
            getattr(line, "quantity", None),
            f"{where}.quantity",
            places=QUANTITY_PLACES,
            maximum=MAX_QUANTITY,
            positive=True,
        ),
        unit_price=None
        if unit_price is None
        else _decimal(unit_price, f"{where}.unit_price", places=PRICE_PLACES, maximum=MAX_PRICE),
        discount_percent=_percent(
            getattr(line, "discount_percent", Decimal("0")), f"{where}.discount_percent"
        ),
        tax_rate=None if tax_rate is None else _percent(tax_rate, f"{where}.tax_rate"),
    )


def _checked_lines(lines: Any) -> list[_CheckedLine]:
    if isinstance(lines, (str, bytes, dict)) or not isinstance(lines, Sequence):
        raise _invalid("lines", "invalid", _("A list of lines is required."))
    if not lines:
        raise _invalid("lines", "required", _("An order needs at least one line."))
    if len(lines) > MAX_LINES:
        raise _invalid("lines", "max_length", _("At most %(n)d lines.") % {"n": MAX_LINES})
    return [_checked_line(line, f"lines.{i}") for i, line in enumerate(lines)]


# --- Customers ----------------------------------------------------------------------

CUSTOMER_FIELDS = (
    "code",
    "name",
    "tax_id",
    "email",
    "credit_limit",
    "payment_terms_days",
    "invoicing",
    "is_active",
)


def customer_info(customer: Customer) -> CustomerInfo:
    return CustomerInfo(
        id=customer.id,
        code=customer.code,
        name=customer.name,
        tax_id=customer.tax_id,
        email=customer.email,
        credit_limit=customer.credit_limit,
        payment_terms_days=customer.payment_terms_days,
        is_active=customer.is_active,
        invoicing=customer.invoicing,
    )


def _customer_saved(customer: Customer) -> Customer:
    # Checked here, not left to the database's check constraint, which save_validated
    # would report as a taken code.
    customer.credit_limit = _decimal(
        customer.credit_limit, "credit_limit", places=MONEY_PLACES, maximum=MAX_MONEY
    )
    return inputs.save_validated(
        customer,
        app=APP,
        duplicate_field="code",
        error=InvalidSalesInputError,
        stripped=("code", "name", "tax_id", "email"),
    )


@atomic(APP)
def customer_create(**fields) -> Customer:
    return _customer_saved(Customer(**{k: v for k, v in fields.items() if k in CUSTOMER_FIELDS}))


@atomic(APP)
def customer_update(customer: Customer, **fields) -> Customer:
    customer = Customer.objects.select_for_update(no_key=True).get(pk=customer.pk)
    for name, value in fields.items():
        if name in CUSTOMER_FIELDS:
            setattr(customer, name, value)
    return _customer_saved(customer)


@atomic(APP)
def customer_delete(customer: Customer) -> None:
    if SalesOrder.objects.filter(customer_id=customer.pk).exists():
        raise CustomerInUseError(_("The customer has orders; deactivate it instead."))
    Customer.objects.filter(pk=customer.pk).delete()


def customer(*, customer_id: Any) -> CustomerInfo:
    try:
        return customer_info(Customer.objects.get(pk=_uuid(customer_id, "customer")))
    except Customer.DoesNotExist:
        raise CustomerNotFoundError() from None


def _active_customer(customer_id: Any) -> Customer:
    found = Customer.objects.filter(pk=_uuid(customer_id, "customer")).first()
    if found is None:
        raise _invalid("customer", "does_not_exist", _("No customer has this id."))
    if not found.is_active:
        raise _invalid("customer", "inactive", _("The customer is inactive."))
    return found


# --- Price list -------------------------------------------------------------------------


def _priced_product(product_id: Any):
    product_id = _uuid(product_id, "product")
    product = interfaces.products([product_id]).get(product_id)
    if product is None:
        raise _invalid("product", "does_not_exist", _("No product has this id."))
    return product


def _price_saved(price: Price, product) -> Price:
    price.sku, price.name = product.sku, product.name
    price.unit_price = _decimal(price.unit_price, "unit_price", places=PRICE_PLACES, maximum=MAX_PRICE)
    price.tax_rate = _percent(price.tax_rate, "tax_rate")
    return inputs.save_validated(price, app=APP, duplicate_field="product", error=InvalidSalesInputError)


def price_create(*, product: Any, unit_price: Any, tax_rate: Any = Decimal("0")) -> Price:
    """A product's current price (one per product: a second one is a 400 on ``product``)."""
    info = _priced_product(product)
    return _price_saved(Price(product_id=info.id, unit_price=unit_price, tax_rate=tax_rate), info)


def price_update(price: Price, **fields) -> Price:
    info = _priced_product(fields.get("product", price.product_id))
    with atomic(APP):
        price = Price.objects.select_for_update(no_key=True).get(pk=price.pk)
        price.product_id = info.id
        for name in ("unit_price", "tax_rate"):
            if name in fields:
                setattr(price, name, fields[name])
        return _price_saved(price, info)


@atomic(APP)
def price_delete(price: Price) -> None:
    Price.objects.filter(pk=price.pk).delete()


def price_set(*, product_id: Any, unit_price: Any, tax_rate: Any = Decimal("0")) -> Price:
    """Create or replace a product's price (demo data, imports)."""
    existing = Price.objects.filter(product_id=_uuid(product_id, "product")).first()
    if existing is None:
        return price_create(product=product_id, unit_price=unit_price, tax_rate=tax_rate)
    return price_update(existing, unit_price=unit_price, tax_rate=tax_rate)


# --- Orders: reading -------------------------------------------------------------------


def _order_get(order_id: Any) -> SalesOrder:
    try:
        return selectors.orders().get(pk=inputs.uuid(order_id, "order", error=InvalidSalesInputError))
    except SalesOrder.DoesNotExist:
        raise OrderNotFoundError() from None


def _locked(order_id: UUID, **annotations) -> SalesOrder:
    """The order, locked until the transaction ends (call inside atomic(APP))."""
    try:
        return SalesOrder.objects.select_for_update(no_key=True).annotate(**annotations).get(pk=order_id)
    except SalesOrder.DoesNotExist:
        raise OrderNotFoundError() from None


def line_info(line: SalesOrderLine) -> OrderLineInfo:
    return OrderLineInfo(
        id=line.id,
        product_id=line.product_id,
        sku=line.sku,
        description=line.description,
        quantity=line.quantity,
        unit_price=line.unit_price,
        discount_percent=line.discount_percent,
        tax_rate=line.tax_rate,
        discount=line.discount,
        subtotal=line.subtotal,
        tax=line.tax,
        line_total=line.line_total,
    )


def order_info(order: SalesOrder) -> OrderInfo:
    return OrderInfo(
        id=order.id,
        number=order.number,
        customer_id=order.customer_id,
        warehouse_id=order.warehouse_id,
        status=order.status,
        order_date=order.order_date,
        payment_terms_days=order.payment_terms_days,
        lines=tuple(line_info(line) for line in order.lines.all()),
        subtotal=order.subtotal,
        discount_total=order.discount_total,
        tax_total=order.tax_total,
        total=order.total,
        workflow=order.workflow,
        status_reason=order.status_reason,
        invoice_id=order.invoice_id,
    )


def order(*, order_id: Any) -> OrderInfo:
    return order_info(_order_get(order_id))


def order_get(order_id: Any) -> SalesOrder:
    """The order with its lines (views and admin render it)."""
    return _order_get(order_id)


def _refuse(order: SalesOrder, allowed: Iterable[str], action: str) -> None:
    if order.status not in allowed:
        raise OrderStateError(
            _("Order %(number)s is %(status)s: it cannot be %(action)s.")
            % {"number": order.number, "status": order.status, "action": action}
        )


# --- Orders: drafts ------------------------------------------------------------------


_NEXT_NUMBER_SQL = (
    "INSERT INTO {table} (year, last) VALUES (%s, 1) "
    "ON CONFLICT (year) DO UPDATE SET last = {table}.last + 1 RETURNING last"
)


def _next_number(year: int) -> str:
    """The next gap-free number of ``year``: one statement (PostgreSQL and SQLite),
    and the counter row stays locked until commit."""
    with connections[alias(APP)].cursor() as cursor:
        cursor.execute(_NEXT_NUMBER_SQL.format(table=OrderCounter._meta.db_table), [year])
        (last,) = cursor.fetchone()
    return f"SO-{year}-{last:06d}"


def _priced_lines(checked: Sequence[_CheckedLine]) -> list[SalesOrderLine]:
    """Order lines with their snapshots and amounts: estoque's SKU and name, the
    price list's price and tax rate where the line gives none."""
    ids = list(dict.fromkeys(line.product_id for line in checked))
    found = interfaces.products(ids)
    prices = {price.product_id: price for price in Price.objects.filter(product_id__in=ids)}
    priced = []
    for i, line in enumerate(checked):
        product = found.get(line.product_id)
        if product is None:
            raise _invalid(f"lines.{i}.product", "does_not_exist", _("No product has this id."))
        if not product.is_active:
            raise _invalid(f"lines.{i}.product", "inactive", _("The product is inactive."))
        price = prices.get(line.product_id)
        unit_price = line.unit_price if line.unit_price is not None else getattr(price, "unit_price", None)
        if unit_price is None:
            raise _invalid(
                f"lines.{i}.unit_price",
                "no_price",
                _("The price list has no price for %(sku)s: give a unit_price.") % {"sku": product.sku},
            )
        tax_rate = line.tax_rate if line.tax_rate is not None else getattr(price, "tax_rate", Decimal("0"))
        discount, subtotal, tax, total = line_amounts(
            line.quantity, unit_price, line.discount_percent, tax_rate
        )
        if total > MAX_MONEY:
            raise _invalid(f"lines.{i}.quantity", "max_value", _("The line's total is too large."))
        priced.append(
            SalesOrderLine(
                position=i + 1,
                product_id=product.id,
                sku=product.sku,
                description=(product.description or product.name)[:500],
                quantity=line.quantity,
                unit_price=unit_price,
                discount_percent=line.discount_percent,
                tax_rate=tax_rate,
                discount=discount,
                subtotal=subtotal,
                tax=tax,
                line_total=total,
            )
        )
    return priced


def _set_lines(order: SalesOrder, lines: list[SalesOrderLine]) -> None:
    order.subtotal = sum((line.subtotal for line in lines), ZERO)
    order.discount_total = sum((line.discount for line in lines), ZERO)
    order.tax_total = sum((line.tax for line in lines), ZERO)
    order.total = order.subtotal + order.tax_total
    if order.total > MAX_MONEY:
        raise _invalid("lines", "max_value", _("The order's total is too large."))
    for line in lines:
        line.order = order


def _checked_warehouse(warehouse_id: Any) -> UUID:
    warehouse_id = _uuid(warehouse_id, "warehouse")
    try:
        interfaces.check_warehouse(warehouse_id)
    except interfaces.WarehouseRefusedError as exc:
        raise _invalid("warehouse", "does_not_exist", exc.message) from None
    return warehouse_id


def order_create(
    *,
    customer_id: Any,
    warehouse_id: Any,
    lines: Any,
    order_date: Any = None,
    notes: Any = "",
    actor_id: UUID | None = None,
) -> SalesOrder:
    """A draft, numbered ``SO-<year>-NNNNNN`` (gap-free per year)."""
    checked = _checked_lines(lines)
    buyer = _active_customer(customer_id)
    notes = _text(notes or "", "notes", max_length=MAX_NOTES)
    day = (
        interfaces.today()
        if order_date is None
        else inputs.date(order_date, "order_date", error=InvalidSalesInputError)
    )
    warehouse = _checked_warehouse(warehouse_id)
    priced = _priced_lines(checked)
    with atomic(APP):
        order = SalesOrder(
            number=_next_number(day.year),
            customer=buyer,
            warehouse_id=warehouse,
            order_date=day,
            payment_terms_days=buyer.payment_terms_days,
            notes=notes,
            created_by=actor_id,
        )
        _set_lines(order, priced)
        order.save()
        SalesOrderLine.objects.bulk_create(priced)
    return _as_read(order, priced)


def _as_read(order: SalesOrder, lines: list[SalesOrderLine]) -> SalesOrder:
    """``order`` as _order_get would read it back (its customer and its lines,
    in position order) without reading it: every column was set here."""
    # What prefetch_related leaves on an instance: the related queryset, already evaluated.
    read = SalesOrderLine.objects.filter(order=order).order_by("position")
    read._result_cache = sorted(lines, key=lambda line: line.position)
    read._prefetch_done = True
    order._prefetched_objects_cache = {"lines": read}
    return order


def _refuse_while_confirming(order: SalesOrder) -> None:
    """A draft whose stock estoque is being asked to hold (or to give back) keeps
    its lines until that is settled: the reservation must match the order."""
    if order.reservation_attempts.filter(outcome__in=[Outcome.PENDING, Outcome.RELEASE]).exists():
        raise OrderStateError(
            _("Order %(number)s is being confirmed (or its stock given back); try again in a moment.")
            % {"number": order.number}
        )


def order_update(order: SalesOrder, *, actor_id: UUID | None = None, **fields) -> SalesOrder:
    """Change a draft: its customer, warehouse, date, notes, or all its lines at once."""
    checked = _checked_lines(fields["lines"]) if "lines" in fields else None
    buyer = _active_customer(fields["customer_id"]) if "customer_id" in fields else None
    warehouse = _checked_warehouse(fields["warehouse_id"]) if "warehouse_id" in fields else None
    day = (
        inputs.date(fields["order_date"], "order_date", error=InvalidSalesInputError)
        if "order_date" in fields
        else None
    )
    notes = _text(fields["notes"], "notes", max_length=MAX_NOTES) if "notes" in fields else None
    priced = _priced_lines(checked) if checked is not None else None
    with atomic(APP):
        locked = _locked(order.pk)
        _refuse(locked, EDITABLE, _("changed"))
        _refuse_while_confirming(locked)
        if buyer is not None and buyer.pk != locked.customer_id:
            locked.customer, locked.payment_terms_days = buyer, buyer.payment_terms_days
        if warehouse is not None:
            locked.warehouse_id = warehouse
        if day is not None:
            if day.year != int(locked.number.split("-")[1]):
                raise _invalid(
                    "order_date",
                    "other_year",
                    _("The order's number belongs to its year: keep the date in it."),
                )
            locked.order_date = day
        if notes is not None:
            locked.notes = notes
        if priced is not None:
            _set_lines(locked, priced)
            SalesOrderLine.objects.filter(order=locked).delete()
            SalesOrderLine.objects.bulk_create(priced)
        locked.save()
    return _order_get(order.pk)


def order_delete(order: SalesOrder, *, actor_id: UUID | None = None) -> None:
    """Delete a draft; its number is kept in DeletedOrder, so the numbers stay gap-free."""
    with atomic(APP):
        locked = _locked(order.pk)
        _refuse(locked, EDITABLE, _("deleted"))
        _refuse_while_confirming(locked)
        DeletedOrder.objects.create(
            number=locked.number, order_id=locked.pk, customer_id=locked.customer_id, deleted_by=actor_id
        )
        locked.delete()


# --- Orders: confirm ------------------------------------------------------------------


def _quantities(order: SalesOrder) -> dict[UUID, Decimal]:
    totals: dict[UUID, Decimal] = defaultdict(Decimal)
    for line in order.lines.all():
        totals[line.product_id] += line.quantity
    return dict(totals)


@dataclass(frozen=True)
class _Credit:
    """The credit check a confirm passed: re-made under the customer's row lock
    when the order is marked, so two confirms racing each other cannot both
    slip under the limit."""

    limit: Decimal
    receivable: Decimal


class _OverLimitError(Exception):
    def __init__(self, exposure: Decimal):
        super().__init__(str(exposure))
        self.exposure = exposure


def _committed(order: SalesOrder) -> Decimal:
    """The customer's confirmed and shipped orders but this one: owed, but not yet invoiced."""
    total = (
        SalesOrder.objects.filter(customer_id=order.customer_id, status__in=COMMITTED)
        .exclude(pk=order.pk)
        .aggregate(total=Sum("total"))["total"]
    )
    return total or ZERO


def credit_exposure(order: SalesOrder, receivable: Decimal) -> Decimal:
    """What the customer would owe with this order: finance's receivable, the
    customer's confirmed and shipped orders not invoiced yet, and this one."""
    return receivable + _committed(order) + order.total


def order_confirm(*, order_id: Any, actor_id: UUID | None = None) -> SalesOrder:
    """Within the credit limit (or none, 0): reserve and confirm. Over it:
    pending_approval with a ``sales_order_approval`` run."""
    order = _order_get(order_id)
    _refuse(order, (Status.DRAFT,), _("confirmed"))
    if not order.customer.is_active:
        raise OrderStateError(
            _("Customer %(code)s is inactive: activate it to confirm its orders.")
            % {"code": order.customer.code}
        )
    limit = order.customer.credit_limit
    if limit <= 0:
        return _reserve_and_confirm(order, from_status=Status.DRAFT, actor_id=actor_id)
    credit = _Credit(limit=limit, receivable=interfaces.receivable_balance(order.customer_id))
    exposure = credit_exposure(order, credit.receivable)
    if exposure <= limit:
        try:
            return _reserve_and_confirm(order, from_status=Status.DRAFT, actor_id=actor_id, credit=credit)
        except _OverLimitError as over:  # another order of the customer's was confirmed meanwhile
            exposure = over.exposure
    return _request_approval(_order_get(order.pk), exposure=exposure, limit=limit, actor_id=actor_id)


def _new_attempt(order: SalesOrder, from_status: str) -> tuple[SalesOrder, ReservationAttempt]:
    """Write the attempt down before estoque is asked; the order as it is then
    (read again only if it changed since ``order`` was read)."""
    last_attempt = ReservationAttempt.objects.filter(order=OuterRef("pk")).order_by("-attempt")
    with atomic(APP):
        locked = _locked(order.pk, last_attempt=Subquery(last_attempt.values("attempt")[:1]))
        _refuse(locked, (from_status,), _("confirmed"))
        number = (locked.last_attempt or 0) + 1
        attempt = ReservationAttempt.objects.create(
            order=locked, attempt=number, order_ref=f"{locked.pk}:{number}", outcome=Outcome.PENDING
        )
    # From here on its lines cannot change (_refuse_while_confirming).
    return (order if locked.updated_at == order.updated_at else _order_get(order.pk)), attempt


def _with_row(order: SalesOrder, row: SalesOrder) -> SalesOrder:
    """``order`` (its customer and lines loaded) with the columns of ``row``, the
    same order just written: no need to read it all again."""
    for field in SalesOrder._meta.concrete_fields:
        setattr(order, field.attname, getattr(row, field.attname))
    return order


def _settle(attempt: ReservationAttempt, outcome: str, *, only_from: Iterable[str] | None = None) -> bool:
    """Record what became of an attempt (only if it still is in one of ``only_from``)."""
    with atomic(APP):
        updated = ReservationAttempt.objects.filter(pk=attempt.pk)
        if only_from is not None:
            updated = updated.filter(outcome__in=list(only_from))
        return bool(updated.update(outcome=outcome, updated_at=timezone.now()))


def _release(attempt: ReservationAttempt, *, actor_id: UUID | None = None) -> bool:
    """Give the attempt's stock back now; on any failure leave it marked
    ``release`` for release_stale_reservations. True when it was released."""
    try:
        _settle(attempt, Outcome.RELEASE, only_from=(Outcome.PENDING, Outcome.HELD, Outcome.RELEASE))
        released = interfaces.release(order_ref=attempt.order_ref, actor_id=actor_id)
        _settle(attempt, Outcome.RELEASED if released is not None else Outcome.SHIPPED)
        return True
    except Exception:
        log.warning(
            "vendas: release of %s failed; the stale-reservation task retries it",
            attempt.order_ref,
            exc_info=True,
        )
        return False


def _short_lines(order: SalesOrder, shortage: interfaces.StockShortageError) -> list[ShortOrderLine]:
    short = {s.product_id: s for s in shortage.short}
    return [
        ShortOrderLine(
            line_id=line.id,
            product_id=line.product_id,
            sku=line.sku,
            requested=short[line.product_id].requested,
            available=short[line.product_id].available,
        )
        for line in order.lines.all()
        if line.product_id in short
    ]


def _reserve_and_confirm(
    order: SalesOrder, *, from_status: str, actor_id: UUID | None, credit: _Credit | None = None
) -> SalesOrder:
    order, attempt = _new_attempt(order, from_status)
    try:
        interfaces.reserve(
            order_ref=attempt.order_ref,
            warehouse_id=order.warehouse_id,
            quantities=_quantities(order),
            actor_id=actor_id,
        )
    except interfaces.StockShortageError as shortage:
        _settle(attempt, Outcome.RELEASED)  # all or nothing: nothing is held
        raise OutOfStockError(_short_lines(order, shortage)) from None
    except interfaces.StockRefusedError as refused:
        _settle(attempt, Outcome.RELEASED)
        raise ReservationRefusedError(refused.message) from None
    except BaseException:
        _release(attempt, actor_id=actor_id)  # the outcome is unknown: give back whatever it held
        raise
    try:
        return _mark_confirmed(
            order, attempt, from_status=from_status, credit=credit, today=interfaces.today()
        )
    except BaseException:
        _release(attempt, actor_id=actor_id)
        raise


def _mark_confirmed(
    order: SalesOrder,
    attempt: ReservationAttempt,
    *,
    from_status: str,
    credit: _Credit | None,
    today: datetime.date,
) -> SalesOrder:
    # The order's lines, totals and customer cannot change while it is being
    # confirmed (_refuse_while_confirming): ``order`` as read has them.
    with atomic(APP):
        if credit is not None:
            # Confirms of one customer's orders take turns here, each seeing the ones before it.
            Customer.objects.select_for_update(no_key=True).get(pk=order.customer_id)
            exposure = credit_exposure(order, credit.receivable)
            if exposure > credit.limit:
                raise _OverLimitError(exposure)
        held = ReservationAttempt.objects.filter(pk=attempt.pk, outcome=Outcome.PENDING).update(
            outcome=Outcome.HELD, updated_at=timezone.now()
        )
        if not held:  # the stale-reservation task gave up on it
            raise OrderStateError(_("The reservation timed out; confirm the order again."))
        changes = {
            "status": Status.CONFIRMED,
            "reservation_ref": attempt.order_ref,
            "confirmed_on": today,
            "status_reason": "",
            "updated_at": timezone.now(),
        }
        # One statement locks, checks the status and writes (no read first).
        if not SalesOrder.objects.filter(pk=order.pk, status=from_status).update(**changes):
            _refuse(_order_get(order.pk), (), _("confirmed"))  # moved on meanwhile (cancelled)
        publish(
            events.OrderConfirmed(
                order_id=order.pk,
                number=order.number,
                customer_id=order.customer_id,
                warehouse_id=order.warehouse_id,
                confirmed_on=today,
                total=order.total,
            )
        )
    for field, value in changes.items():
        setattr(order, field, value)
    return order


# --- Orders: credit approval -------------------------------------------------------------


def _request_approval(
    order: SalesOrder, *, exposure: Decimal, limit: Decimal, actor_id: UUID | None
) -> SalesOrder:
    reason = _("Over the credit limit: %(exposure)s owed with this order, limit %(limit)s.") % {
        "exposure": exposure,
        "limit": limit,
    }
    with atomic(APP):
        locked = _locked(order.pk)
        _refuse(locked, (Status.DRAFT,), _("confirmed"))
        locked.status, locked.status_reason, locked.workflow = Status.PENDING_APPROVAL, reason, None
        locked.approval_round += 1
        locked.save()
        approval_round = locked.approval_round
    run_input = {
        "order_id": str(order.pk),
        "number": order.number,
        "customer_id": str(order.customer_id),
        "customer_name": order.customer.name,
        "total": str(order.total),
        "exposure": str(exposure),
        "credit_limit": str(limit),
        "order_created_by": str(order.created_by) if order.created_by else "",
    }
    try:
        run = interfaces.start_run(
            definition=APPROVAL_DEFINITION,
            input=run_input,
            started_by=actor_id,
            key=f"vendas:approval:{order.pk}:{approval_round}",
        )
    except BaseException:
        _back_to_draft(order.pk, reason="", only_from=Status.PENDING_APPROVAL, thread_id=None)
        raise
    with atomic(APP):
        locked = _locked(order.pk)
        if locked.status == Status.PENDING_APPROVAL and locked.workflow is None:
            locked.workflow = run.thread_id
            locked.save(update_fields=["workflow", "updated_at"])
    return _order_get(order.pk)


def _back_to_draft(order_id: UUID, *, reason: str, only_from: str, thread_id: UUID | None) -> bool:
    with atomic(APP):
        locked = _locked(order_id)
        if locked.status != only_from or (thread_id is not None and not _awaits(locked, thread_id)):
            return False
        locked.status, locked.status_reason = Status.DRAFT, reason
        locked.save()
        return True


def _awaits(order: SalesOrder, thread_id: UUID) -> bool:
    # None: the run started and was answered before its thread id was written on the order.
    return order.workflow in (None, thread_id)


def approval_confirm(*, order_id: Any, thread_id: UUID, approved_by: Any = None) -> dict[str, Any]:
    """The approval run's "approved" step: reserve and confirm; with the stock
    gone by now, the order returns to draft with the reason. Safe to run twice."""
    order = _order_get(order_id)
    actor = _uuid(approved_by, "approved_by") if approved_by else None
    if not _awaits(order, thread_id):
        return {"outcome": "skipped", "reason": _("The order is no longer waiting for this run.")}
    if order.status != Status.PENDING_APPROVAL:
        return {"outcome": order.status}
    try:
        _reserve_and_confirm(order, from_status=Status.PENDING_APPROVAL, actor_id=actor)
    except (OutOfStockError, ReservationRefusedError) as exc:
        reason = _("Approved, but the stock is gone: %(detail)s") % {"detail": stock_detail(exc)}
        _back_to_draft(order.pk, reason=reason, only_from=Status.PENDING_APPROVAL, thread_id=thread_id)
        return {"outcome": Status.DRAFT.value, "reason": reason, "lines": exc.extra.get("lines", [])}
    return {"outcome": Status.CONFIRMED.value}


def stock_detail(exc: Exception) -> str:
    if isinstance(exc, OutOfStockError):
        return ", ".join(
            _("%(sku)s needs %(requested)s, %(available)s available")
            % {"sku": line.sku, "requested": line.requested, "available": line.available}
            for line in exc.lines
        )
    return str(exc)


def approval_reject(
    *, order_id: Any, thread_id: UUID, comment: str, rejected_by: Any = None
) -> dict[str, Any]:
    """The approval run's "rejected" step: the order is cancelled with the comment."""
    order = _order_get(order_id)
    if not _awaits(order, thread_id) or order.status != Status.PENDING_APPROVAL:
        return {"outcome": "skipped" if not _awaits(order, thread_id) else order.status}
    reason = (
        _("Credit approval rejected: %(comment)s") % {"comment": comment}
        if comment
        else _("Credit approval rejected.")
    )
    actor = _uuid(rejected_by, "rejected_by") if rejected_by else None
    _cancel(order.pk, reason=reason, actor_id=actor, cancel_run=False)
    return {"outcome": Status.CANCELLED.value, "reason": reason}


def approval_run_ended(*, thread_id: UUID, how: str) -> None:
    """The approval run was cancelled or failed: its order goes back to draft."""
    order = SalesOrder.objects.filter(workflow=thread_id, status=Status.PENDING_APPROVAL).first()
    if order is not None:
        reason = _("The credit approval run was %(how)s.") % {"how": how}
        _back_to_draft(order.pk, reason=reason, only_from=Status.PENDING_APPROVAL, thread_id=thread_id)


# --- Orders: ship, cancel ----------------------------------------------------------------


def _shipped_event(order: SalesOrder, shipped_on: datetime.date, currency: str) -> events.OrderShipped:
    customer = order.customer
    return events.OrderShipped(
        order_id=order.pk,
        number=order.number,
        customer=events.ShippedCustomer(
            id=customer.pk, code=customer.code, name=customer.name, tax_id=customer.tax_id
        ),
        warehouse_id=order.warehouse_id,
        shipped_on=shipped_on,
        payment_terms_days=order.payment_terms_days,
        invoicing=customer.invoicing,
        currency=currency,
        lines=[
            events.ShippedLine(
                product_id=line.product_id,
                sku=line.sku,
                description=line.description,
                quantity=line.quantity,
                unit_price=line.unit_price,
                discount_percent=line.discount_percent,
                tax_rate=line.tax_rate,
                subtotal=line.subtotal,
                tax=line.tax,
                total=line.line_total,
            )
            for line in order.lines.all()
        ],
        subtotal=order.subtotal,
        discount_total=order.discount_total,
        tax_total=order.tax_total,
        total=order.total,
    )


def order_ship(*, order_id: Any, actor_id: UUID | None = None) -> SalesOrder:
    """Issue the reserved stock and publish OrderShipped; finance invoices it."""
    order = _order_get(order_id)
    _refuse(order, (Status.CONFIRMED,), _("shipped"))
    order_ref = order.reservation_ref  # set by the confirm; the same while the order stays confirmed
    # One statement (its own transaction) checks the status and marks the order shipping.
    now = timezone.now()
    marked = SalesOrder.objects.filter(pk=order.pk, status=Status.CONFIRMED).update(
        shipping_started_at=Coalesce(F("shipping_started_at"), Value(now)), updated_at=now
    )
    if not marked:
        _refuse(_order_get(order.pk), (), _("shipped"))  # moved on meanwhile (cancelled, shipped)
    try:
        shipment = interfaces.ship(order_ref=order_ref, actor_id=actor_id)
    except interfaces.StockRefusedError as refused:
        with atomic(APP):
            SalesOrder.objects.filter(pk=order.pk).update(shipping_started_at=None, updated_at=timezone.now())
        raise ReservationRefusedError(refused.message) from None
    # Any other failure leaves the order shipping: shipping again is safe (estoque ships a reference once).
    currency = interfaces.company().base_currency
    now = timezone.now()
    changes = {"status": Status.SHIPPED, "shipped_on": shipment.shipped_on, "updated_at": now}
    with atomic(APP):
        # Only the first of two concurrent ships gets here with the order still confirmed.
        if SalesOrder.objects.filter(pk=order.pk, status=Status.CONFIRMED).update(**changes):
            ReservationAttempt.objects.filter(order_id=order.pk, order_ref=order_ref).update(
                outcome=Outcome.SHIPPED, updated_at=now
            )
            for field, value in changes.items():
                setattr(order, field, value)
            # A confirmed order's lines and totals no longer change: the first read has them.
            publish(_shipped_event(order, shipment.shipped_on, currency))
            if not delivered_inline():
                return order
    # Read the row (again): the other ship's outcome, or with an inline relay
    # (the quick start) the invoice finance has issued by now.
    return _with_row(order, SalesOrder.objects.get(pk=order.pk))


def order_cancel(*, order_id: Any, reason: Any = "", actor_id: UUID | None = None) -> SalesOrder:
    """Cancel a draft, pending or confirmed order and give its stock back."""
    order = _order_get(order_id)
    reason = _text(reason or "", "reason", max_length=MAX_REASON)
    return _cancel(order.pk, reason=reason or _("Cancelled."), actor_id=actor_id, cancel_run=True)


def _cancel(order_id: UUID, *, reason: str, actor_id: UUID | None, cancel_run: bool) -> SalesOrder:
    with atomic(APP):
        order = _locked(order_id)
        _refuse(order, CANCELLABLE, _("cancelled"))
        if order.shipping_started_at is not None:
            raise OrderStateError(
                _("Order %(number)s is being shipped: it cannot be cancelled.") % {"number": order.number}
            )
        was_waiting = order.status == Status.PENDING_APPROVAL
        order.status, order.status_reason = Status.CANCELLED, reason
        order.save()
        ReservationAttempt.objects.filter(order=order, outcome=Outcome.HELD).update(
            outcome=Outcome.RELEASE, updated_at=timezone.now()
        )
        publish(events.OrderCancelled(order_id=order.pk, number=order.number, reason=reason))
    for attempt in ReservationAttempt.objects.filter(order_id=order_id, outcome=Outcome.RELEASE):
        _release(attempt, actor_id=actor_id)
    if cancel_run and was_waiting and order.workflow is not None:
        try:
            interfaces.cancel_run(thread_id=order.workflow, actor_id=actor_id, reason=reason)
        except Exception:
            log.warning("vendas: could not cancel approval run %s", order.workflow, exc_info=True)
    return _order_get(order_id)


# --- What finance tells us ----------------------------------------------------------------


def order_invoiced(*, order_id: UUID, invoice_id: UUID, invoice_number: str) -> None:
    """financeiro issued the order's invoice: shipped → invoiced (idempotent)."""
    with atomic(APP):
        order = SalesOrder.objects.select_for_update(no_key=True).filter(pk=order_id).first()
        if order is None:
            return
        order.invoice_id, order.invoice_number = invoice_id, invoice_number
        if order.status == Status.SHIPPED:
            order.status = Status.INVOICED
        order.save()


def order_paid(*, order_id: UUID, invoice_id: UUID, paid_on: datetime.date) -> None:
    """The order's invoice is paid in full: invoiced → paid (idempotent; also
    from shipped, should the payment's news overtake the invoice's)."""
    with atomic(APP):
        order = SalesOrder.objects.select_for_update(no_key=True).filter(pk=order_id).first()
        if order is None or order.status not in (Status.SHIPPED, Status.INVOICED):
            return
        order.invoice_id = order.invoice_id or invoice_id
        order.status, order.paid_on = Status.PAID, paid_on
        order.save()


# --- Housekeeping -------------------------------------------------------------------------


def release_stale_reservations(*, older_than_seconds: int | None = None) -> int:
    """Release the stock of attempts no order holds: marked ``release``, or
    left ``pending`` longer than a confirm takes. Returns how many were released."""
    seconds = (
        settings.VENDAS_RESERVATION_TIMEOUT_SECONDS if older_than_seconds is None else older_than_seconds
    )
    cutoff = timezone.now() - datetime.timedelta(seconds=seconds)
    stale = ReservationAttempt.objects.filter(
        Q(outcome=Outcome.RELEASE) | Q(outcome=Outcome.PENDING, updated_at__lt=cutoff)
    ).order_by("pk")[:500]
    released = 0
    for attempt in stale:
        # Mark it first, under the row lock a confirm takes too, so a confirm
        # that gets there later finds it given up and does not confirm on it.
        if attempt.outcome == Outcome.PENDING and not _settle(
            attempt, Outcome.RELEASE, only_from=(Outcome.PENDING,)
        ):
            continue
        released += _release(attempt)
    return released


class SalesServiceImpl(SalesService):
    """The contract in-process (settings.SERVICE_BACKENDS["vendas"])."""

    def customer(self, *, customer_id):
        return customer(customer_id=customer_id)

    def order(self, *, order_id):
        return order(order_id=order_id)

    def order_create(self, *, customer_id, warehouse_id, lines, order_date=None, notes="", actor_id=None):
        return order_info(
            order_create(
                customer_id=customer_id,
                warehouse_id=warehouse_id,
                lines=lines,
                order_date=order_date,
                notes=notes,
                actor_id=actor_id,
            )
        )

    def order_confirm(self, *, order_id, actor_id=None):
        return order_info(order_confirm(order_id=order_id, actor_id=actor_id))

    def order_ship(self, *, order_id, actor_id=None):
        return order_info(order_ship(order_id=order_id, actor_id=actor_id))

    def order_cancel(self, *, order_id, reason="", actor_id=None):
        return order_info(order_cancel(order_id=order_id, reason=reason, actor_id=actor_id))
