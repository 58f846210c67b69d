"""estoque's services: the StockService contract in-process, plus the writes
this app's views, admin and commands make (products, warehouses).

Each command runs in one transaction on estoque's database (``atomic(APP)``)
and publishes its event there. Rules that keep stock right under load:

* **Idempotency by reference.** A command first claims ``(kind, reference)``
  with one ``INSERT … ON CONFLICT DO NOTHING``; a concurrent twin waits on the
  unique index, then finds the first one's record and answers its result.
* **One lock order.** Product rows (valuation) by id, then level rows by
  (product, warehouse), each set in one ordered ``SELECT … FOR UPDATE``; reserve,
  release and transfer lock levels only. No two commands lock in opposite
  orders, so none can deadlock. The locks are ``FOR NO KEY UPDATE``: a plain
  ``FOR UPDATE`` on a product would block the foreign-key checks (``KEY
  SHARE``, deferred to COMMIT) of a reserve or transfer that holds level locks,
  while the product's holder waits for those levels: a deadlock at commit.
* **Statements constant in lines.** Locks, updates (``bulk_update``) and inserts
  (``bulk_create``) handle every line at once.
* **Valuation by running value.** A product keeps ``on_hand`` and
  ``stock_value``; a receipt adds ``quantity × unit_cost`` (rounded to the cent)
  and recomputes the moving average; an issue takes its share of the value,
  ``stock_value × quantity / on_hand`` rounded to the cent, and issuing the
  last unit takes exactly what is left. So value received = value issued +
  value remaining, to the cent, forever.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from uuid import UUID

from django.db import connections
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from erp import inputs
from erp.db import alias, atomic
from erp.errors import FieldError
from erp.events import publish
from estoque import events, interfaces, statements
from estoque.contract import (
    Adjustment,
    Availability,
    BelowReservedError,
    CountLine,
    InactiveProductError,
    InsufficientStockError,
    InvalidStockInputError,
    Line,
    Move,
    ProductInfo,
    ProductInUseError,
    ProductNotFoundError,
    Receipt,
    ReceiptLine,
    ReferenceConflictError,
    ReservationConsumedError,
    ReservationInfo,
    ReservationNotFoundError,
    ReservationReleasedError,
    ReservedLine,
    Shipment,
    ShippedLine,
    ShortLine,
    StockService,
    Transfer,
    UnknownProductError,
    UnknownWarehouseError,
    WarehouseInUseError,
)
from estoque.models import Product, Replenishment, Reservation, StockCommand, StockLevel, StockMove, Warehouse

APP = "estoque"
Kind = StockCommand.Kind
Status = StockCommand.Status
MoveKind = StockMove.Kind

QUANTITY_PLACES = Decimal("0.001")
COST_PLACES = Decimal("0.0001")
MONEY_PLACES = Decimal("0.01")
# 18 digits with 3 (or 4) decimal places, as the columns hold.
MAX_QUANTITY = Decimal("999999999999999.999")
MAX_UNIT_COST = Decimal("99999999999999.9999")
MAX_REFERENCE = 255
MAX_LINES = 1000


# --- Input checks (every command refuses bad input before touching a row) -----


def _invalid(field: str, code: str, message: str) -> InvalidStockInputError:
    return inputs.invalid(InvalidStockInputError, field, code, message)


def _text(value: Any, field: str, *, max_length: int, required: bool = True) -> str:
    return inputs.text(value, field, max_length=max_length, required=required, error=InvalidStockInputError)


def _decimal(value: Any, field: str, *, places: Decimal, maximum: Decimal, positive: bool) -> Decimal:
    """A finite Decimal with at most ``places``; > 0 (``positive``) or >= 0."""
    return inputs.decimal(
        value, field, places=places, maximum=maximum, positive=positive, error=InvalidStockInputError
    )


def _uuid(value: Any, field: str) -> UUID:
    return inputs.uuid(value, field, error=InvalidStockInputError)


def _reference(value: Any, field: str = "reference") -> str:
    return _text(value, field, max_length=MAX_REFERENCE)


def _checked_lines(lines: Sequence[Any], check_line) -> list:
    if isinstance(lines, (str, bytes)) or not isinstance(lines, Sequence) or not lines:
        raise _invalid("lines", "required", _("At least one line is required."))
    if len(lines) > MAX_LINES:
        raise _invalid("lines", "max_length", _("At most %(n)d lines.") % {"n": MAX_LINES})
    checked = [check_line(line, f"lines.{index}") for index, line in enumerate(lines)]
    seen: dict[UUID, int] = {}
    for index, line in enumerate(checked):
        if line.product_id in seen:
            raise _invalid(
                f"lines.{index}.product",
                "duplicate",
                _("The product is already on line %(line)d; one line per product.")
                % {"line": seen[line.product_id]},
            )
        seen[line.product_id] = index
    return checked


def _quantity_line(line: Any, where: str) -> Line:
    return Line(
        product_id=_uuid(getattr(line, "product_id", None), f"{where}.product"),
        quantity=_decimal(
            getattr(line, "quantity", None),
            f"{where}.quantity",
            places=QUANTITY_PLACES,
            maximum=MAX_QUANTITY,
            positive=True,
        ),
    )


def _receipt_line(line: Any, where: str) -> ReceiptLine:
    quantity_line = _quantity_line(line, where)
    unit_cost = _decimal(
        getattr(line, "unit_cost", None),
        f"{where}.unit_cost",
        places=COST_PLACES,
        maximum=MAX_UNIT_COST,
        positive=False,
    )
    return ReceiptLine(
        product_id=quantity_line.product_id, quantity=quantity_line.quantity, unit_cost=unit_cost
    )


def _count_line(line: Any, where: str) -> CountLine:
    return CountLine(
        product_id=_uuid(getattr(line, "product_id", None), f"{where}.product"),
        counted_quantity=_decimal(
            getattr(line, "counted_quantity", None),
            f"{where}.counted_quantity",
            places=QUANTITY_PLACES,
            maximum=MAX_QUANTITY,
            positive=False,
        ),
    )


def _fingerprint(*parts: Any) -> str:
    text = json.dumps(parts, default=str, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _sorted_lines(lines: Iterable) -> list[tuple]:
    """Lines as comparable tuples, by product: a repeat may list them in another order."""
    return sorted(
        (
            str(line.product_id),
            *(str(getattr(line, f)) for f in line.__dataclass_fields__ if f != "product_id"),
        )
        for line in lines
    )


def _unknown_warehouse(warehouse_id: UUID, field: str) -> UnknownWarehouseError:
    return UnknownWarehouseError(
        _("No active warehouse has the id %(id)s.") % {"id": warehouse_id},
        errors=[
            FieldError(
                field=field, code=UnknownWarehouseError.code, message=_("Unknown or inactive warehouse.")
            )
        ],
    )


def _active_warehouse(warehouse_id: Any, field: str = "warehouse") -> Warehouse:
    warehouse_id = _uuid(warehouse_id, field)
    warehouse = Warehouse.objects.filter(pk=warehouse_id, is_active=True).first()
    if warehouse is None:
        raise _unknown_warehouse(warehouse_id, field)
    return warehouse


def _check_products(found: dict[UUID, Product], lines: Sequence) -> None:
    """UnknownProductError / InactiveProductError naming every bad line."""
    unknown = [
        FieldError(field=f"lines.{i}.product", code=UnknownProductError.code, message=_("Unknown product."))
        for i, line in enumerate(lines)
        if line.product_id not in found
    ]
    if unknown:
        raise UnknownProductError(unknown[0].message, errors=unknown)
    inactive = [
        FieldError(
            field=f"lines.{i}.product", code=InactiveProductError.code, message=_("The product is inactive.")
        )
        for i, line in enumerate(lines)
        if not found[line.product_id].is_active
    ]
    if inactive:
        raise InactiveProductError(inactive[0].message, errors=inactive)


# --- Rows, claimed and locked in the one order ---------------------------------


def _db():
    return connections[alias(APP)]


def _claim(
    *,
    kind: str,
    reference: str,
    fingerprint: str,
    status: str,
    reservations: Sequence[tuple[UUID, Decimal]] = (),
    **fields,
) -> tuple[StockCommand, bool]:
    """The command recorded under (kind, reference): (the new record, True), or
    (the existing one, locked, False). One INSERT … ON CONFLICT DO NOTHING: a
    concurrent twin waits on the unique index until the first commits or rolls
    back. ``reservations`` (product id, quantity) are inserted with a new
    command, in the same statement on PostgreSQL."""
    command = StockCommand(
        kind=kind,
        reference=reference,
        fingerprint=fingerprint,
        status=status,
        occurred_on=interfaces.business_date(),
        **fields,
    )
    if statements.claim(command, reservations=reservations):
        if reservations and not statements.fast():
            _insert_reservations(command, reservations)
        return command, True
    return StockCommand.objects.select_for_update(no_key=True).get(kind=kind, reference=reference), False


def _same_or_conflict(command: StockCommand, fingerprint: str) -> None:
    if command.fingerprint != fingerprint:
        raise ReferenceConflictError(
            _("The reference %(ref)s was already used for a %(kind)s with different data.")
            % {"ref": command.reference, "kind": command.kind}
        )


def _locked_products(product_ids: Iterable[UUID]) -> dict[UUID, Product]:
    products = Product.objects.select_for_update(no_key=True).filter(pk__in=list(product_ids)).order_by("pk")
    return {product.pk: product for product in products}


def _ensure_levels(warehouse_id: UUID, product_ids: Iterable[UUID]) -> None:
    # In product order too: a transfer creates its destination's levels before it
    # locks anything, and two inserts of the same new rows in opposite orders wait
    # on each other's uncommitted rows.
    StockLevel.objects.bulk_create(
        [StockLevel(product_id=p, warehouse_id=warehouse_id) for p in sorted(set(product_ids))],
        ignore_conflicts=True,
    )


def _locked_levels(
    warehouse_ids: Sequence[UUID], product_ids: Iterable[UUID]
) -> dict[tuple[UUID, UUID], StockLevel]:
    levels = (
        StockLevel.objects.select_for_update(of=("self",), no_key=True)
        .select_related("product")
        .filter(warehouse_id__in=list(warehouse_ids), product_id__in=list(product_ids))
        .order_by("product_id", "warehouse_id")
    )
    return {(level.product_id, level.warehouse_id): level for level in levels}


LEVEL_FIELDS = ["on_hand", "reserved", "replenishment_pending", "updated_at"]
PRODUCT_VALUE_FIELDS = ["on_hand", "stock_value", "average_cost", "updated_at"]


def _save_levels(levels: Iterable[StockLevel]) -> None:
    levels = list(levels)
    if not levels:
        return
    if statements.fast():
        statements.save_levels(levels)
        return
    now = timezone.now()
    for level in levels:
        level.updated_at = now
    StockLevel.objects.bulk_update(levels, LEVEL_FIELDS)


def _save_products(products: Iterable[Product]) -> None:
    products = list(products)
    if not products:
        return
    if statements.fast():
        statements.save_products(products)
        return
    now = timezone.now()
    for product in products:
        product.updated_at = now
    Product.objects.bulk_update(products, PRODUCT_VALUE_FIELDS)


# --- Valuation -----------------------------------------------------------------


def _money(value: Decimal) -> Decimal:
    return value.quantize(MONEY_PLACES, rounding=ROUND_HALF_UP)


def _take_value(product: Product, quantity: Decimal) -> Decimal:
    """Remove ``quantity`` from the product's valuation; the value it takes
    (positive): its share of the running value, or all of it for the last unit."""
    if quantity >= product.on_hand:
        value = product.stock_value
    else:
        value = min(_money(product.stock_value * quantity / product.on_hand), product.stock_value)
    product.on_hand -= quantity
    product.stock_value -= value
    return value


def _add_value(product: Product, quantity: Decimal, value: Decimal) -> None:
    """Add ``quantity`` worth ``value``; the moving average follows."""
    product.on_hand += quantity
    product.stock_value += value
    if product.on_hand > 0:
        product.average_cost = (product.stock_value / product.on_hand).quantize(
            COST_PLACES, rounding=ROUND_HALF_UP
        )


def _unit_cost(quantity: Decimal, value: Decimal, fallback: Decimal) -> Decimal:
    if not quantity:
        return fallback
    return abs(value / quantity).quantize(COST_PLACES, rounding=ROUND_HALF_UP)


# --- Below the reorder point -----------------------------------------------------


def _below_reorder_point(product: Product, available: Decimal) -> bool:
    return product.is_active and product.reorder_point > 0 and available < product.reorder_point


def _publish_below_reorder_point(product: Product, warehouse_id: UUID, available: Decimal) -> None:
    publish(
        events.StockBelowReorderPoint(
            product_id=product.pk,
            sku=product.sku,
            warehouse_id=warehouse_id,
            available=available,
            reorder_point=product.reorder_point,
            reorder_quantity=product.reorder_quantity,
        )
    )


def _announce_low_stock(levels: Iterable[StockLevel]) -> None:
    """Publish StockBelowReorderPoint for each level that is now below its
    product's reorder point and has no replenishment pending (then it has one).
    Callers save the levels afterwards."""
    for level in levels:
        if not level.replenishment_pending and _below_reorder_point(level.product, level.available):
            level.replenishment_pending = True
            _publish_below_reorder_point(level.product, level.warehouse_id, level.available)


# --- Reading results back ----------------------------------------------------------


def _move_info(move: StockMove, sku: str) -> Move:
    return Move(
        id=move.pk,
        product_id=move.product_id,
        sku=sku,
        warehouse_id=move.warehouse_id,
        kind=str(move.kind),
        quantity=move.quantity,
        unit_cost=move.unit_cost,
        value=move.value,
        reference=move.reference,
        created_at=move.created_at,
        created_by=move.created_by,
    )


def _moves_of(command: StockCommand, kind: str | None = None) -> tuple[Move, ...]:
    # By SKU; a transfer's line out of the source before its line in ("-kind").
    moves = (
        StockMove.objects.filter(command=command).select_related("product").order_by("product__sku", "-kind")
    )
    if kind:
        moves = moves.filter(kind=kind)
    return tuple(_move_info(move, move.product.sku) for move in moves)


def _receipt(command: StockCommand, moves: Sequence[Move]) -> Receipt:
    return Receipt(
        id=command.pk,
        warehouse_id=command.warehouse_id,
        reference=command.reference,
        received_on=command.occurred_on,
        moves=tuple(moves),
        value=sum((m.value for m in moves), Decimal("0.00")),
    )


def _adjustment(command: StockCommand, moves: Sequence[Move]) -> Adjustment:
    return Adjustment(
        id=command.pk,
        warehouse_id=command.warehouse_id,
        reason=command.reason,
        reference=command.reference,
        adjusted_on=command.occurred_on,
        moves=tuple(moves),
        value_delta=sum((m.value for m in moves), Decimal("0.00")),
    )


def _transfer(command: StockCommand, moves: Sequence[Move]) -> Transfer:
    return Transfer(
        id=command.pk,
        from_warehouse_id=command.warehouse_id,
        to_warehouse_id=command.to_warehouse_id,
        reference=command.reference,
        transferred_on=command.occurred_on,
        moves=tuple(moves),
    )


def _reservation_info(command: StockCommand, lines: Sequence[ReservedLine] | None = None) -> ReservationInfo:
    if lines is None:
        reservations = command.reservations.select_related("product").order_by("product__sku")
        lines = [
            ReservedLine(product_id=r.product_id, sku=r.product.sku, quantity=r.quantity)
            for r in reservations
        ]
    status = Status.RELEASED if command.status == Status.TOMBSTONE else command.status
    return ReservationInfo(
        order_ref=command.reference, warehouse_id=command.warehouse_id, status=status, lines=tuple(lines)
    )


def _shipment(command: StockCommand, moves: Sequence[Move]) -> Shipment:
    lines = tuple(
        ShippedLine(
            product_id=m.product_id, sku=m.sku, quantity=-m.quantity, unit_cost=m.unit_cost, value=-m.value
        )
        for m in moves
    )
    return Shipment(
        order_ref=command.reference,
        warehouse_id=command.warehouse_id,
        shipped_on=command.shipped_on,
        lines=lines,
        value=sum((line.value for line in lines), Decimal("0.00")),
    )


def _new_move(
    command: StockCommand, product: Product, warehouse_id: UUID, kind: str, quantity, value, unit_cost
) -> StockMove:
    return StockMove(
        command=command,
        product=product,
        warehouse_id=warehouse_id,
        kind=kind,
        quantity=quantity,
        unit_cost=unit_cost,
        value=value,
        reference=command.reference,
        created_by=command.created_by,
        created_at=command.created_at,
    )


def _created(moves: list[StockMove]) -> tuple[Move, ...]:
    StockMove.objects.bulk_create(moves)
    # The order _moves_of reads them back in, so a repeat answers the same result.
    ordered = sorted(moves, key=lambda m: (m.product.sku, m.kind != MoveKind.TRANSFER_OUT))
    return tuple(_move_info(move, move.product.sku) for move in ordered)


# --- Commands -----------------------------------------------------------------------


@atomic(APP)
def receive(
    *, warehouse_id: UUID, reference: str, lines: Sequence[ReceiptLine], actor_id: UUID | None = None
) -> Receipt:
    """Goods in: stock and value up, moving average recomputed; StockReceived."""
    reference = _reference(reference)
    lines = _checked_lines(lines, _receipt_line)
    warehouse = _active_warehouse(warehouse_id)
    fingerprint = _fingerprint(Kind.RECEIPT, str(warehouse.pk), _sorted_lines(lines))
    command, created = _claim(
        kind=Kind.RECEIPT,
        reference=reference,
        fingerprint=fingerprint,
        status=Status.DONE,
        warehouse=warehouse,
        created_by=actor_id,
    )
    if not created:
        _same_or_conflict(command, fingerprint)
        return _receipt(command, _moves_of(command))
    products = _locked_products(line.product_id for line in lines)
    _check_products(products, lines)
    _ensure_levels(warehouse.pk, products)
    levels = _locked_levels([warehouse.pk], products)
    moves = []
    for line in lines:
        product, level = products[line.product_id], levels[(line.product_id, warehouse.pk)]
        value = _money(line.quantity * line.unit_cost)
        _add_value(product, line.quantity, value)
        level.on_hand += line.quantity
        moves.append(
            _new_move(command, product, warehouse.pk, MoveKind.RECEIPT, line.quantity, value, line.unit_cost)
        )
    _save_products(products.values())
    _save_levels(levels.values())
    receipt = _receipt(command, _created(moves))
    publish(
        events.StockReceived(
            receipt_id=receipt.id,
            warehouse_id=warehouse.pk,
            reference=reference,
            received_on=receipt.received_on,
            lines=_valued_lines(receipt.moves),
            value=receipt.value,
        )
    )
    return receipt


@atomic(APP)
def adjust(
    *,
    warehouse_id: UUID,
    reason: str,
    lines: Sequence[CountLine],
    reference: str | None = None,
    actor_id: UUID | None = None,
) -> Adjustment:
    """A stock count: each product's on-hand becomes the counted quantity; the
    difference is an adjustment move valued at the average cost; StockAdjusted."""
    reason = _text(reason, "reason", max_length=500)
    reference = _reference(reference) if reference is not None else f"adjustment:{uuid.uuid4()}"
    lines = _checked_lines(lines, _count_line)
    warehouse = _active_warehouse(warehouse_id)
    fingerprint = _fingerprint(Kind.ADJUSTMENT, str(warehouse.pk), reason, _sorted_lines(lines))
    command, created = _claim(
        kind=Kind.ADJUSTMENT,
        reference=reference,
        fingerprint=fingerprint,
        status=Status.DONE,
        warehouse=warehouse,
        reason=reason,
        created_by=actor_id,
    )
    if not created:
        _same_or_conflict(command, fingerprint)
        return _adjustment(command, _moves_of(command))
    products = _locked_products(line.product_id for line in lines)
    _check_products(products, lines)
    _ensure_levels(warehouse.pk, products)
    levels = _locked_levels([warehouse.pk], products)
    below = [
        FieldError(
            field=f"lines.{i}.counted_quantity",
            code=BelowReservedError.code,
            message=_("%(reserved)s are reserved here; release them before counting less.")
            % {"reserved": levels[(line.product_id, warehouse.pk)].reserved},
        )
        for i, line in enumerate(lines)
        if line.counted_quantity < levels[(line.product_id, warehouse.pk)].reserved
    ]
    if below:
        raise BelowReservedError(extra={"errors": [error.as_dict() for error in below]})
    moves = []
    for line in lines:
        product, level = products[line.product_id], levels[(line.product_id, warehouse.pk)]
        delta = line.counted_quantity - level.on_hand
        if not delta:
            continue
        if delta > 0:
            value = _money(delta * product.average_cost)
            _add_value(product, delta, value)
        else:
            value = -_take_value(product, -delta)
        level.on_hand = line.counted_quantity
        unit_cost = _unit_cost(delta, value, product.average_cost)
        moves.append(_new_move(command, product, warehouse.pk, MoveKind.ADJUSTMENT, delta, value, unit_cost))
    _announce_low_stock(levels.values())
    _save_products(products.values())
    _save_levels(levels.values())
    adjustment = _adjustment(command, _created(moves))
    publish(
        events.StockAdjusted(
            adjustment_id=adjustment.id,
            warehouse_id=warehouse.pk,
            reason=reason,
            adjusted_on=adjustment.adjusted_on,
            lines=[
                events.AdjustedLine(
                    product_id=m.product_id, sku=m.sku, quantity_delta=m.quantity, value_delta=m.value
                )
                for m in adjustment.moves
            ],
            value_delta=adjustment.value_delta,
        )
    )
    return adjustment


def _short_lines(
    lines: Sequence[Line], levels: dict, warehouse_id: UUID, products: dict[UUID, Product]
) -> list[ShortLine]:
    short = []
    for line in lines:
        level = levels.get((line.product_id, warehouse_id))
        available = level.available if level else Decimal("0.000")
        if available < line.quantity:
            short.append(
                ShortLine(
                    product_id=line.product_id,
                    sku=products[line.product_id].sku,
                    requested=line.quantity,
                    available=available,
                )
            )
    return short


def _insufficient(short: list[ShortLine]) -> InsufficientStockError:
    skus = ", ".join(f"{s.sku} ({s.available} of {s.requested})" for s in short)
    return InsufficientStockError(short, _("Not enough stock for %(lines)s.") % {"lines": skus})


def _products_of(levels: dict, lines: Sequence) -> dict[UUID, Product]:
    """The lines' products, from the locked levels' join; one more query only
    when a product has no level in the warehouse yet (or does not exist)."""
    products = {level.product_id: level.product for level in levels.values()}
    missing = [line.product_id for line in lines if line.product_id not in products]
    if missing:
        products.update({p.pk: p for p in Product.objects.filter(pk__in=missing)})
    return products


@atomic(APP)
def transfer(
    *,
    from_warehouse_id: UUID,
    to_warehouse_id: UUID,
    lines: Sequence[Line],
    reference: str | None = None,
    actor_id: UUID | None = None,
) -> Transfer:
    """Move available stock between warehouses (the value stays the product's)."""
    reference = _reference(reference) if reference is not None else f"transfer:{uuid.uuid4()}"
    lines = _checked_lines(lines, _quantity_line)
    source = _active_warehouse(from_warehouse_id, "from_warehouse")
    target = _active_warehouse(to_warehouse_id, "to_warehouse")
    if source.pk == target.pk:
        raise _invalid("to_warehouse", "same_warehouse", _("The destination must differ from the source."))
    fingerprint = _fingerprint(Kind.TRANSFER, str(source.pk), str(target.pk), _sorted_lines(lines))
    command, created = _claim(
        kind=Kind.TRANSFER,
        reference=reference,
        fingerprint=fingerprint,
        status=Status.DONE,
        warehouse=source,
        to_warehouse=target,
        created_by=actor_id,
    )
    if not created:
        _same_or_conflict(command, fingerprint)
        return _transfer(command, _moves_of(command))
    product_ids = [line.product_id for line in lines]
    products = dict(Product.objects.in_bulk(product_ids))
    _check_products(products, lines)
    _ensure_levels(target.pk, product_ids)
    levels = _locked_levels([source.pk, target.pk], product_ids)
    short = _short_lines(lines, levels, source.pk, products)
    if short:
        raise _insufficient(short)
    moves = []
    for line in lines:
        product = products[line.product_id]
        value = _money(line.quantity * product.average_cost)
        levels[(line.product_id, source.pk)].on_hand -= line.quantity
        levels[(line.product_id, target.pk)].on_hand += line.quantity
        moves.append(
            _new_move(
                command,
                product,
                source.pk,
                MoveKind.TRANSFER_OUT,
                -line.quantity,
                -value,
                product.average_cost,
            )
        )
        moves.append(
            _new_move(
                command, product, target.pk, MoveKind.TRANSFER_IN, line.quantity, value, product.average_cost
            )
        )
    # Only the source dropped: stock arriving at the destination is no news of shortage.
    _announce_low_stock(level for (_, warehouse_id), level in levels.items() if warehouse_id == source.pk)
    _save_levels(levels.values())
    result = _transfer(command, _created(moves))
    publish(
        events.StockTransferred(
            transfer_id=result.id,
            from_warehouse_id=source.pk,
            to_warehouse_id=target.pk,
            transferred_on=result.transferred_on,
            lines=[
                events.QuantityLine(
                    product_id=line.product_id, sku=products[line.product_id].sku, quantity=line.quantity
                )
                for line in lines
            ],
        )
    )
    return result


@atomic(APP)
def reserve(
    *, order_ref: str, warehouse_id: UUID, lines: Sequence[Line], actor_id: UUID | None = None
) -> ReservationInfo:
    """Hold stock for every line or none (InsufficientStockError names each
    short line); StockReserved."""
    order_ref = _reference(order_ref, "order_ref")
    lines = _checked_lines(lines, _quantity_line)
    warehouse_id, products = _warehouse_and_products(warehouse_id, [line.product_id for line in lines])
    fingerprint = _fingerprint(Kind.RESERVATION, str(warehouse_id), _sorted_lines(lines))
    command, created = _claim(
        kind=Kind.RESERVATION,
        reference=order_ref,
        fingerprint=fingerprint,
        status=Status.ACTIVE,
        warehouse_id=warehouse_id,
        created_by=actor_id,
        reservations=[(line.product_id, line.quantity) for line in lines],
    )
    if not created:
        if command.status in (Status.RELEASED, Status.TOMBSTONE):
            raise ReservationReleasedError(
                _("The reservation %(ref)s was released; reserve under a new order_ref.") % {"ref": order_ref}
            )
        _same_or_conflict(command, fingerprint)
        return _reservation_info(command)
    _check_products(products, lines)
    # In SKU order, as _reservation_info reads them back: a repeat answers the same result.
    reserved = sorted(
        (
            ReservedLine(
                product_id=line.product_id, sku=products[line.product_id].sku, quantity=line.quantity
            )
            for line in lines
        ),
        key=lambda r: r.sku,
    )
    publish(
        events.StockReserved(
            order_ref=order_ref,
            warehouse_id=warehouse_id,
            lines=[
                events.QuantityLine(product_id=r.product_id, sku=r.sku, quantity=r.quantity) for r in reserved
            ],
        )
    )
    # The levels last: a hot product's row stays locked for one statement and the commit.
    _hold(warehouse_id, lines, products)
    return _reservation_info(command, reserved)


def _warehouse_and_products(warehouse_id: Any, product_ids: list[UUID]) -> tuple[UUID, dict[UUID, Product]]:
    """The active warehouse's id and the products by id (those that exist), or
    UnknownWarehouseError."""
    if not statements.fast():
        warehouse = _active_warehouse(warehouse_id)
        return warehouse.pk, Product.objects.only(*LOW_STOCK_FIELDS).in_bulk(product_ids)
    warehouse_id = _uuid(warehouse_id, "warehouse")
    products = statements.products_in_active_warehouse(warehouse_id=warehouse_id, product_ids=product_ids)
    if products is None:
        raise _unknown_warehouse(warehouse_id, "warehouse")
    return warehouse_id, products


def _insert_reservations(command: StockCommand, lines: Sequence[tuple[UUID, Decimal]]) -> None:
    Reservation.objects.bulk_create(
        [
            Reservation(
                command=command,
                order_ref=command.reference,
                product_id=product_id,
                warehouse_id=command.warehouse_id,
                quantity=quantity,
                created_at=command.created_at,
                updated_at=command.created_at,
            )
            for product_id, quantity in lines
        ]
    )


LOW_STOCK_FIELDS = ("id", "sku", "is_active", "reorder_point", "reorder_quantity")


def _hold(warehouse_id: UUID, lines: Sequence[Line], products: dict[UUID, Product]) -> None:
    """Reserve every line's quantity on its level, or raise InsufficientStockError
    naming each line the warehouse cannot cover (the caller's transaction then
    rolls back what was held)."""
    if statements.fast():
        held = statements.change_levels(
            warehouse_id=warehouse_id,
            changes=[(line.product_id, Decimal(0), line.quantity) for line in lines],
            only_if_available=True,
        )
        if len(held) < len(lines):
            # The lines left out; the others' levels already carry this reservation.
            unheld = [line for line in lines if line.product_id not in held]
            levels = StockLevel.objects.filter(
                warehouse_id=warehouse_id, product_id__in=[line.product_id for line in unheld]
            )
            by_pair = {(level.product_id, warehouse_id): level for level in levels}
            raise _insufficient(_short_lines(unheld, by_pair, warehouse_id, products))
        _announce_low_levels(warehouse_id, products, held)
        return
    levels = _locked_levels([warehouse_id], products)
    short = _short_lines(lines, levels, warehouse_id, products)
    if short:
        raise _insufficient(short)
    for line in lines:
        levels[(line.product_id, warehouse_id)].reserved += line.quantity
    _announce_low_stock(levels.values())
    _save_levels(levels.values())


def _announce_low_levels(
    warehouse_id: UUID, products: dict[UUID, Product], changed: dict[UUID, tuple[Decimal, bool]]
) -> None:
    """_announce_low_stock for levels changed by a statement: mark and announce
    those now below their reorder point (the rows are already locked)."""
    low = [
        product_id
        for product_id, (available, pending) in changed.items()
        if not pending and _below_reorder_point(products[product_id], available)
    ]
    if not low:
        return
    StockLevel.objects.filter(warehouse_id=warehouse_id, product_id__in=low).update(
        replenishment_pending=True
    )
    for product_id in sorted(low):
        _publish_below_reorder_point(products[product_id], warehouse_id, changed[product_id][0])


@atomic(APP)
def release(*, order_ref: str, actor_id: UUID | None = None) -> ReservationInfo:
    """Give a reservation's stock back (idempotent). An order_ref never reserved
    is recorded as released, so a late reserve under it fails."""
    order_ref = _reference(order_ref, "order_ref")
    command, created = _claim(
        kind=Kind.RESERVATION,
        reference=order_ref,
        fingerprint="",
        status=Status.TOMBSTONE,
        created_by=actor_id,
        released_at=timezone.now(),
    )
    if created:
        publish(events.ReservationReleased(order_ref=order_ref, warehouse_id=None, lines=[]))
        return _reservation_info(command, [])
    if command.status in (Status.RELEASED, Status.TOMBSTONE):
        return _reservation_info(command)
    if command.status == Status.CONSUMED:
        raise ReservationConsumedError(
            _("The reservation %(ref)s has shipped and can no longer be released.") % {"ref": order_ref}
        )
    held = list(
        command.reservations.filter(status=Reservation.Status.ACTIVE)
        .select_related("product")
        .order_by("product__sku")
    )
    levels = _locked_levels([command.warehouse_id], [r.product_id for r in held])
    for reservation in held:
        levels[(reservation.product_id, reservation.warehouse_id)].reserved -= reservation.quantity
    _save_levels(levels.values())
    command.reservations.filter(status=Reservation.Status.ACTIVE).update(
        status=Reservation.Status.RELEASED, updated_at=timezone.now()
    )
    command.status, command.released_at = Status.RELEASED, timezone.now()
    command.save(update_fields=["status", "released_at"])
    lines = [ReservedLine(product_id=r.product_id, sku=r.product.sku, quantity=r.quantity) for r in held]
    publish(
        events.ReservationReleased(
            order_ref=order_ref,
            warehouse_id=command.warehouse_id,
            lines=[
                events.QuantityLine(product_id=r.product_id, sku=r.sku, quantity=r.quantity) for r in lines
            ],
        )
    )
    return _reservation_info(command, lines)


@atomic(APP)
def ship(*, order_ref: str, actor_id: UUID | None = None) -> Shipment:
    """Consume the reservation into issue moves at the average cost; StockIssued
    with the exact value per line (what finance posts)."""
    order_ref = _reference(order_ref, "order_ref")
    if not statements.fast():
        return _ship_portably(order_ref, actor_id)
    now = timezone.now()
    shipped_on = interfaces.business_date(now)
    claimed = statements.claim_shipment(order_ref=order_ref, now=now, today=shipped_on)
    if claimed is None:  # unknown, released or already shipped
        return _ship_portably(order_ref, actor_id)
    command_id, warehouse_id, created_by, held = claimed
    products = statements.lock_valuations(product_id for product_id, _ in held)
    issued = []
    for product_id, quantity in held:
        product = products[product_id]
        value = _take_value(product, quantity)
        unit_cost = _unit_cost(quantity, value, product.average_cost)
        issued.append(
            ShippedLine(
                product_id=product_id, sku=product.sku, quantity=quantity, unit_cost=unit_cost, value=value
            )
        )
    _save_products(products.values())
    statements.change_levels(
        warehouse_id=warehouse_id,
        changes=[(product_id, -quantity, -quantity) for product_id, quantity in held],
        only_if_available=False,
    )
    statements.insert_moves(
        command_id=command_id,
        warehouse_id=warehouse_id,
        kind=MoveKind.ISSUE,
        reference=order_ref,
        created_by=actor_id or created_by,
        now=now,
        lines=[(line.product_id, -line.quantity, line.unit_cost, -line.value) for line in issued],
    )
    lines = tuple(sorted(issued, key=lambda line: line.sku))
    shipment = Shipment(
        order_ref=order_ref,
        warehouse_id=warehouse_id,
        shipped_on=shipped_on,
        lines=lines,
        value=sum((line.value for line in lines), Decimal("0.00")),
    )
    _publish_issued(shipment)
    return shipment


def _valued_lines(lines: Iterable[Move | ShippedLine]) -> list[events.ValuedLine]:
    return [
        events.ValuedLine(
            product_id=line.product_id,
            sku=line.sku,
            quantity=line.quantity,
            unit_cost=line.unit_cost,
            value=line.value,
        )
        for line in lines
    ]


def _publish_issued(shipment: Shipment) -> None:
    publish(
        events.StockIssued(
            order_ref=shipment.order_ref,
            warehouse_id=shipment.warehouse_id,
            issued_on=shipment.shipped_on,
            lines=_valued_lines(shipment.lines),
            value=shipment.value,
        )
    )


def _ship_portably(order_ref: str, actor_id: UUID | None) -> Shipment:
    """ship() through the ORM: SQLite, and every repeat or refusal."""
    command = (
        StockCommand.objects.select_for_update(no_key=True)
        .filter(kind=Kind.RESERVATION, reference=order_ref)
        .first()
    )
    if command is None:
        raise ReservationNotFoundError(_("No reservation has the order_ref %(ref)s.") % {"ref": order_ref})
    if command.status in (Status.RELEASED, Status.TOMBSTONE):
        raise ReservationReleasedError(
            _("The reservation %(ref)s was released; there is nothing to ship.") % {"ref": order_ref}
        )
    if command.status == Status.CONSUMED:
        return _shipment(command, _moves_of(command, MoveKind.ISSUE))
    held = list(command.reservations.filter(status=Reservation.Status.ACTIVE))
    products = _locked_products(r.product_id for r in held)
    levels = _locked_levels([command.warehouse_id], products)
    now = timezone.now()
    command.status, command.shipped_at, command.shipped_on = (
        Status.CONSUMED,
        now,
        interfaces.business_date(now),
    )
    moves = []
    for reservation in held:
        product = products[reservation.product_id]
        level = levels[(reservation.product_id, reservation.warehouse_id)]
        value = _take_value(product, reservation.quantity)
        level.on_hand -= reservation.quantity
        level.reserved -= reservation.quantity
        unit_cost = _unit_cost(reservation.quantity, value, product.average_cost)
        move = _new_move(
            command,
            product,
            reservation.warehouse_id,
            MoveKind.ISSUE,
            -reservation.quantity,
            -value,
            unit_cost,
        )
        move.created_by, move.created_at = actor_id or command.created_by, now
        moves.append(move)
    _save_products(products.values())
    _save_levels(levels.values())
    command.reservations.filter(status=Reservation.Status.ACTIVE).update(
        status=Reservation.Status.CONSUMED, updated_at=now
    )
    command.save(update_fields=["status", "shipped_at", "shipped_on"])
    shipment = _shipment(command, _created(moves))
    _publish_issued(shipment)
    return shipment


# --- Reads ---------------------------------------------------------------------------


def product_info(product: Product) -> ProductInfo:
    return ProductInfo(
        id=product.pk,
        sku=product.sku,
        name=product.name,
        description=product.description,
        unit=product.unit,
        reorder_point=product.reorder_point,
        reorder_quantity=product.reorder_quantity,
        is_active=product.is_active,
        average_cost=product.average_cost,
        on_hand=product.on_hand,
        stock_value=product.stock_value,
    )


def products(*, ids: Sequence[UUID] | None = None, skus: Sequence[str] | None = None) -> list[ProductInfo]:
    found = Product.objects.none()
    if ids:
        found = found | Product.objects.filter(pk__in=[_uuid(i, "ids") for i in ids])
    if skus:
        found = found | Product.objects.filter(sku__in=[str(s) for s in skus])
    return [product_info(p) for p in found.order_by("sku")]


def stock_value() -> Decimal:
    total = Product.objects.using(alias(APP)).aggregate(total=Sum("stock_value"))["total"]
    return _money(total or Decimal("0"))


def availability(*, warehouse_id: UUID, product_ids: Sequence[UUID]) -> list[Availability]:
    warehouse = _active_warehouse(warehouse_id)
    ids = [_uuid(p, "product_ids") for p in product_ids]
    levels = {lv.product_id: lv for lv in StockLevel.objects.filter(warehouse=warehouse, product_id__in=ids)}
    zero = Decimal("0.000")
    return [
        Availability(
            product_id=p,
            warehouse_id=warehouse.pk,
            on_hand=levels[p].on_hand if p in levels else zero,
            reserved=levels[p].reserved if p in levels else zero,
            available=levels[p].available if p in levels else zero,
        )
        for p in ids
    ]


# --- Products and warehouses (views, admin, import) ----------------------------------

PRODUCT_FIELDS = ("sku", "name", "description", "unit", "reorder_point", "reorder_quantity", "is_active")
WAREHOUSE_FIELDS = ("code", "name", "is_active")


# Identifiers and names: surrounding blanks are typing accidents, and a blank SKU is no SKU.
STRIPPED_FIELDS = ("sku", "code", "name", "unit")


def _saved(instance, *, duplicate_field: str):
    return inputs.save_validated(
        instance,
        app=APP,
        duplicate_field=duplicate_field,
        error=InvalidStockInputError,
        stripped=STRIPPED_FIELDS,
    )


@atomic(APP)
def product_create(**fields) -> Product:
    return _saved(Product(**{k: v for k, v in fields.items() if k in PRODUCT_FIELDS}), duplicate_field="sku")


@atomic(APP)
def product_update(product: Product, **fields) -> Product:
    product = Product.objects.select_for_update(no_key=True).get(pk=product.pk)
    for name, value in fields.items():
        if name in PRODUCT_FIELDS:
            setattr(product, name, value)
    return _saved(product, duplicate_field="sku")


@atomic(APP)
def product_delete(product: Product) -> None:
    """Only a product without stock history goes; its empty levels go with it."""
    if (
        StockMove.objects.filter(product=product).exists()
        or Replenishment.objects.filter(product=product).exists()
    ):
        raise ProductInUseError(
            _("%(sku)s has stock history and cannot be deleted; deactivate it instead.")
            % {"sku": product.sku}
        )
    StockLevel.objects.filter(product=product).delete()
    product.delete()


@atomic(APP)
def warehouse_create(**fields) -> Warehouse:
    return _saved(
        Warehouse(**{k: v for k, v in fields.items() if k in WAREHOUSE_FIELDS}), duplicate_field="code"
    )


@atomic(APP)
def warehouse_update(warehouse: Warehouse, **fields) -> Warehouse:
    warehouse = Warehouse.objects.select_for_update(no_key=True).get(pk=warehouse.pk)
    for name, value in fields.items():
        if name in WAREHOUSE_FIELDS:
            setattr(warehouse, name, value)
    return _saved(warehouse, duplicate_field="code")


@atomic(APP)
def warehouse_delete(warehouse: Warehouse) -> None:
    """Only a warehouse without stock history goes."""
    used = (
        StockMove.objects.filter(warehouse=warehouse).exists()
        or StockCommand.objects.filter(warehouse=warehouse).exists()
        or StockCommand.objects.filter(to_warehouse=warehouse).exists()
        or Replenishment.objects.filter(warehouse=warehouse).exists()
    )
    if used:
        raise WarehouseInUseError(
            _("%(code)s has stock history and cannot be deleted; deactivate it instead.")
            % {"code": warehouse.code}
        )
    StockLevel.objects.filter(warehouse=warehouse).delete()
    warehouse.delete()


def product_get(product_id: UUID) -> Product:
    product = Product.objects.filter(pk=product_id).first()
    if product is None:
        raise ProductNotFoundError(_("No product has the id %(id)s.") % {"id": product_id})
    return product


class StockServiceImpl(StockService):
    """The contract, in-process (SERVICE_BACKENDS["estoque"])."""

    def products(self, *, ids=None, skus=None):
        return products(ids=ids, skus=skus)

    def stock_value(self):
        return stock_value()

    def availability(self, *, warehouse_id, product_ids):
        return availability(warehouse_id=warehouse_id, product_ids=product_ids)

    def receive(self, *, warehouse_id, reference, lines, actor_id=None):
        return receive(warehouse_id=warehouse_id, reference=reference, lines=lines, actor_id=actor_id)

    def adjust(self, *, warehouse_id, reason, lines, reference=None, actor_id=None):
        return adjust(
            warehouse_id=warehouse_id, reason=reason, lines=lines, reference=reference, actor_id=actor_id
        )

    def transfer(self, *, from_warehouse_id, to_warehouse_id, lines, reference=None, actor_id=None):
        return transfer(
            from_warehouse_id=from_warehouse_id,
            to_warehouse_id=to_warehouse_id,
            lines=lines,
            reference=reference,
            actor_id=actor_id,
        )

    def reserve(self, *, order_ref, warehouse_id, lines, actor_id=None):
        return reserve(order_ref=order_ref, warehouse_id=warehouse_id, lines=lines, actor_id=actor_id)

    def release(self, *, order_ref, actor_id=None):
        return release(order_ref=order_ref, actor_id=actor_id)

    def ship(self, *, order_ref, actor_id=None):
        return ship(order_ref=order_ref, actor_id=actor_id)
