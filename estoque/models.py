"""estoque's tables (private: other apps use estoque/contract.py).

The database carries the invariants, so code that bypasses the services cannot
break them: ``0 <= reserved <= on_hand`` per product × warehouse, non-negative
totals and stock value per product, unique SKUs and levels, and an append-only
ledger (a trigger refuses UPDATE and DELETE of a stock move on PostgreSQL).

Quantities have 3 places, unit costs 4, money 2 (ARCHITECTURE: Money).
Move quantities and values are signed: receipts, transfers in and positive
adjustments add; issues, transfers out and negative adjustments subtract. So a
level's ``on_hand`` is the sum of its pair's move quantities and a product's
``stock_value`` the sum of its move values.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

QUANTITY = {"max_digits": 18, "decimal_places": 3}
UNIT_COST = {"max_digits": 18, "decimal_places": 4}
MONEY = {"max_digits": 18, "decimal_places": 2}
ZERO = Decimal("0")


class Product(models.Model):
    """A stock item. ``on_hand``, ``stock_value`` and ``average_cost`` are the
    valuation across all warehouses, kept by the services: ``stock_value`` is
    the running value (what the inventory account holds), ``average_cost`` the
    moving average, which stays at its last value when the stock runs out."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    sku = models.CharField(_("SKU"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True, default="", max_length=2000)
    unit = models.CharField(_("unit"), max_length=16, default="un")
    reorder_point = models.DecimalField(
        _("reorder point"), **QUANTITY, default=ZERO, validators=[MinValueValidator(ZERO)]
    )
    reorder_quantity = models.DecimalField(
        _("reorder quantity"), **QUANTITY, default=ZERO, validators=[MinValueValidator(ZERO)]
    )
    is_active = models.BooleanField(_("active"), default=True)
    on_hand = models.DecimalField(_("on hand"), **QUANTITY, default=ZERO, editable=False)
    stock_value = models.DecimalField(_("stock value"), **MONEY, default=ZERO, editable=False)
    average_cost = models.DecimalField(_("average cost"), **UNIT_COST, default=ZERO, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["sku"]
        constraints = [
            models.CheckConstraint(condition=Q(on_hand__gte=0), name="estoque_product_on_hand_gte_0"),
            models.CheckConstraint(condition=Q(stock_value__gte=0), name="estoque_product_value_gte_0"),
            models.CheckConstraint(condition=Q(average_cost__gte=0), name="estoque_product_cost_gte_0"),
            models.CheckConstraint(
                condition=Q(reorder_point__gte=0, reorder_quantity__gte=0),
                name="estoque_product_reorder_gte_0",
            ),
            # No stock, no value: what is left after the last unit is issued is 0.00.
            models.CheckConstraint(
                condition=~Q(on_hand=0) | Q(stock_value=0), name="estoque_product_no_stock_no_value"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"


class Warehouse(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=200)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class StockLevel(models.Model):
    """What one warehouse holds of one product; ``available = on_hand - reserved``.

    ``replenishment_pending`` is set when the level's drop below the reorder
    point was announced (StockBelowReorderPoint), and cleared when the
    replenishment it started ends: the event is not raised again meanwhile."""

    id = models.BigAutoField(primary_key=True)
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="levels")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="levels")
    on_hand = models.DecimalField(_("on hand"), **QUANTITY, default=ZERO)
    reserved = models.DecimalField(_("reserved"), **QUANTITY, default=ZERO)
    replenishment_pending = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["product__sku", "warehouse__code"]
        constraints = [
            models.UniqueConstraint(fields=["product", "warehouse"], name="estoque_level_product_warehouse"),
            models.CheckConstraint(condition=Q(on_hand__gte=0), name="estoque_level_on_hand_gte_0"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="estoque_level_reserved_gte_0"),
            models.CheckConstraint(
                condition=Q(reserved__lte=F("on_hand")), name="estoque_level_reserved_lte_on_hand"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product_id} @ {self.warehouse_id}"

    @property
    def available(self) -> Decimal:
        return self.on_hand - self.reserved


class StockCommand(models.Model):
    """One command estoque carried out, under its caller's reference: the
    idempotency record (a repeat finds it), the document its moves belong to
    (a receipt's ``receipt_id`` is this id), and for reservations their state.

    ``fingerprint`` is a digest of the command's data: the same reference with
    other data is a conflict. A released reservation's reference is spent; a
    release of a reference never reserved leaves a tombstone, so a reserve that
    arrives after its caller gave up fails instead of holding stock."""

    class Kind(models.TextChoices):
        RECEIPT = "receipt"
        ADJUSTMENT = "adjustment"
        TRANSFER = "transfer"
        RESERVATION = "reservation"

    class Status(models.TextChoices):
        DONE = "done"  # receipts, adjustments, transfers
        ACTIVE = "active"  # reservation holding stock
        RELEASED = "released"
        CONSUMED = "consumed"  # shipped
        TOMBSTONE = "tombstone"  # released before it was ever reserved

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    reference = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, blank=True, default="")
    status = models.CharField(max_length=16, choices=Status.choices)
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, null=True, related_name="+")
    to_warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, null=True, related_name="+")
    reason = models.CharField(max_length=500, blank=True, default="")
    created_by = models.UUIDField(null=True, blank=True, help_text="core.User id")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    occurred_on = models.DateField(help_text="The business date (company timezone)")
    shipped_at = models.DateTimeField(null=True, blank=True)
    shipped_on = models.DateField(null=True, blank=True)
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "reference"], name="estoque_command_kind_reference"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.reference}"


class StockMove(models.Model):
    """One line of the append-only stock ledger."""

    class Kind(models.TextChoices):
        RECEIPT = "receipt"
        ISSUE = "issue"
        ADJUSTMENT = "adjustment"
        TRANSFER_IN = "transfer_in"
        TRANSFER_OUT = "transfer_out"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    command = models.ForeignKey(StockCommand, on_delete=models.PROTECT, related_name="moves")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="moves")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="moves")
    kind = models.CharField(max_length=16, choices=Kind.choices, db_index=True)
    quantity = models.DecimalField(**QUANTITY, help_text="Signed: + into the warehouse, - out of it")
    unit_cost = models.DecimalField(**UNIT_COST)
    value = models.DecimalField(**MONEY, help_text="Signed change of the product's stock value")
    reference = models.CharField(max_length=255, blank=True, default="")
    created_by = models.UUIDField(null=True, blank=True, help_text="core.User id")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "id"]
        indexes = [models.Index(fields=["product", "warehouse"], name="estoque_move_product_wh")]
        constraints = [
            models.CheckConstraint(condition=~Q(quantity=0), name="estoque_move_quantity_not_0"),
            models.CheckConstraint(condition=Q(unit_cost__gte=0), name="estoque_move_unit_cost_gte_0"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.quantity} of {self.product_id}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValueError("Stock moves are append-only: post a correcting move instead.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Stock moves are append-only: post a correcting move instead.")


class Reservation(models.Model):
    """Stock held for an order line until it ships (consumed) or is released."""

    class Status(models.TextChoices):
        ACTIVE = "active"
        RELEASED = "released"
        CONSUMED = "consumed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    command = models.ForeignKey(StockCommand, on_delete=models.PROTECT, related_name="reservations")
    order_ref = models.CharField(max_length=255, db_index=True)
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="reservations")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="reservations")
    quantity = models.DecimalField(**QUANTITY)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE, db_index=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="estoque_reservation_quantity_gt_0"),
        ]

    def __str__(self) -> str:
        return f"{self.order_ref}: {self.quantity} of {self.product_id}"


class Replenishment(models.Model):
    """A ``stock_replenishment`` run for one product × warehouse; at most one
    open per pair (the database refuses a second)."""

    class Status(models.TextChoices):
        OPEN = "open"
        RECEIVED = "received"
        REJECTED = "rejected"
        EXPIRED = "expired"
        CANCELLED = "cancelled"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="replenishments")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="replenishments")
    thread_id = models.UUIDField(unique=True, help_text="The workflow run")
    proposed_quantity = models.DecimalField(**QUANTITY)
    approved_quantity = models.DecimalField(
        **QUANTITY, null=True, blank=True, help_text="What the manager approved"
    )
    received_quantity = models.DecimalField(**QUANTITY, null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["product", "warehouse"],
                condition=Q(status="open"),
                name="estoque_one_open_replenishment",
            ),
        ]

    def __str__(self) -> str:
        return f"replenishment {self.thread_id} ({self.status})"
