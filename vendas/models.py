"""vendas' tables (private: other apps use vendas/contract.py).

No foreign key leaves the app: products and warehouses are estoque's ids, and
an order line keeps the SKU and description it was sold under (a snapshot);
users are core's ids. Money has 2 places, quantities 3, unit prices 4
(ARCHITECTURE: Money).

An order's stock is held by estoque under a reference per confirmation attempt
(``ReservationAttempt.order_ref``): vendas never calls estoque inside a
transaction of its own, so each attempt is written down before the call, and
what became of it after. An attempt left ``pending`` (the call's outcome is
unknown) or marked ``release`` (the order no longer needs it) is released by
``tasks.release_stale_reservations`` if the request that made it could not.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from erp.money import adds_up

MONEY = {"max_digits": 18, "decimal_places": 2}
QUANTITY = {"max_digits": 18, "decimal_places": 3}
UNIT_PRICE = {"max_digits": 18, "decimal_places": 4}
PERCENT = {"max_digits": 7, "decimal_places": 4}
ZERO = Decimal("0.00")


class Customer(models.Model):
    class Invoicing(models.TextChoices):
        PER_SHIPMENT = "per_shipment", _("per shipment")
        MONTH_END = "month_end", _("at month end")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=200)
    tax_id = models.CharField(_("tax id"), max_length=32, blank=True, default="")
    email = models.EmailField(_("e-mail"), blank=True, default="")
    # 0 means no limit: orders of this customer never wait for a credit approval.
    credit_limit = models.DecimalField(_("credit limit"), **MONEY, default=ZERO)
    payment_terms_days = models.PositiveSmallIntegerField(_("payment terms (days)"), default=30)
    # Sent with each OrderShipped: financeiro invoices the shipment at once, or bills the
    # month's shipments once the month has ended (faturamento mensal).
    invoicing = models.CharField(
        _("invoicing"),
        max_length=16,
        choices=Invoicing.choices,
        default=Invoicing.PER_SHIPMENT,
        help_text=_(
            "per_shipment: each shipment is invoiced when it ships; month_end: the month's shipments are "
            "invoiced on the month's last day, once the month has ended."
        ),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(credit_limit__gte=0), name="vendas_customer_credit_limit"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Price(models.Model):
    """The current price of one product (one row per product)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    product_id = models.UUIDField(_("product"), unique=True)
    # Snapshots from estoque when the price was set, for lists and the admin.
    sku = models.CharField(_("SKU"), max_length=64)
    name = models.CharField(_("product name"), max_length=200)
    unit_price = models.DecimalField(_("unit price"), **UNIT_PRICE)
    tax_rate = models.DecimalField(_("tax rate (%)"), **PERCENT, default=Decimal("0"))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["sku"]
        constraints = [
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="vendas_price_not_negative"),
            models.CheckConstraint(
                condition=Q(tax_rate__gte=0, tax_rate__lte=100), name="vendas_price_tax_rate"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sku}: {self.unit_price}"


class OrderCounter(models.Model):
    """The last order number given out in a year: locked while an order is
    created, so numbers have no gaps (a deleted draft's number is kept in
    DeletedOrder)."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.year}: {self.last}"


class SalesOrder(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        PENDING_APPROVAL = "pending_approval", _("pending approval")
        CONFIRMED = "confirmed", _("confirmed")
        SHIPPED = "shipped", _("shipped")
        INVOICED = "invoiced", _("invoiced")
        PAID = "paid", _("paid")
        CANCELLED = "cancelled", _("cancelled")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    number = models.CharField(_("number"), max_length=20, unique=True)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="orders")
    warehouse_id = models.UUIDField(_("warehouse"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.DRAFT)
    order_date = models.DateField(_("order date"))
    payment_terms_days = models.PositiveSmallIntegerField(_("payment terms (days)"))
    notes = models.TextField(_("notes"), blank=True, default="")
    subtotal = models.DecimalField(_("subtotal"), **MONEY, default=ZERO)
    discount_total = models.DecimalField(_("discount total"), **MONEY, default=ZERO)
    tax_total = models.DecimalField(_("tax total"), **MONEY, default=ZERO)
    total = models.DecimalField(_("total"), **MONEY, default=ZERO)
    # The approval run's thread id, once the order went over the credit limit.
    workflow = models.UUIDField(_("approval workflow thread"), null=True, blank=True)
    # How many times the order went for approval (each round starts a run of its own).
    approval_round = models.PositiveSmallIntegerField(default=0)
    # Why the order is where it is (a rejection's comment, stock gone at approval, a cancel's reason).
    status_reason = models.TextField(_("status reason"), blank=True, default="")
    # estoque's reference of the reservation the confirmed order holds.
    reservation_ref = models.CharField(_("reservation reference"), max_length=64, blank=True, default="")
    # Set while estoque ships the order: a cancel must not release stock on its way out.
    shipping_started_at = models.DateTimeField(null=True, blank=True)
    confirmed_on = models.DateField(null=True, blank=True)
    shipped_on = models.DateField(null=True, blank=True)
    invoice_id = models.UUIDField(_("invoice"), null=True, blank=True)
    invoice_number = models.CharField(_("invoice number"), max_length=20, blank=True, default="")
    paid_on = models.DateField(null=True, blank=True)
    created_by = models.UUIDField(null=True, blank=True)  # core's user id
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-number"]
        indexes = [
            models.Index(fields=["customer", "status"], name="vendas_order_customer_status"),
            models.Index(fields=["status", "updated_at"], name="vendas_order_status_updated"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=adds_up("total", "subtotal", "tax_total"),
                name="vendas_order_total_adds_up",
            ),
        ]

    def __str__(self) -> str:
        return self.number


class SalesOrderLine(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    order = models.ForeignKey(SalesOrder, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField()
    product_id = models.UUIDField(_("product"))
    sku = models.CharField(_("SKU"), max_length=64)
    description = models.CharField(_("description"), max_length=500)
    quantity = models.DecimalField(_("quantity"), **QUANTITY)
    unit_price = models.DecimalField(_("unit price"), **UNIT_PRICE)
    discount_percent = models.DecimalField(_("discount (%)"), **PERCENT, default=Decimal("0"))
    tax_rate = models.DecimalField(_("tax rate (%)"), **PERCENT, default=Decimal("0"))
    discount = models.DecimalField(_("discount"), **MONEY)
    subtotal = models.DecimalField(_("subtotal"), **MONEY)  # after the discount
    tax = models.DecimalField(_("tax"), **MONEY)
    line_total = models.DecimalField(_("line total"), **MONEY)  # subtotal + tax

    class Meta:
        ordering = ["order", "position"]
        constraints = [
            models.UniqueConstraint(fields=["order", "position"], name="vendas_line_position"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="vendas_line_quantity_positive"),
            models.CheckConstraint(
                condition=adds_up("line_total", "subtotal", "tax"),
                name="vendas_line_total_adds_up",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sku} × {self.quantity}"


class ReservationAttempt(models.Model):
    """One try at holding an order's stock in estoque, under its own reference."""

    class Outcome(models.TextChoices):
        PENDING = "pending", _("pending")  # estoque was asked; the answer is not recorded yet
        HELD = "held", _("held")  # the confirmed order holds it
        RELEASE = "release", _("to release")  # no longer needed; estoque must give it back
        RELEASED = "released", _("released")  # given back (or never held)
        SHIPPED = "shipped", _("shipped")  # consumed by the shipment

    id = models.BigAutoField(primary_key=True)
    order = models.ForeignKey(SalesOrder, on_delete=models.CASCADE, related_name="reservation_attempts")
    attempt = models.PositiveIntegerField()
    order_ref = models.CharField(max_length=64, unique=True)
    outcome = models.CharField(max_length=8, choices=Outcome.choices, default=Outcome.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["order", "attempt"]
        constraints = [models.UniqueConstraint(fields=["order", "attempt"], name="vendas_attempt_unique")]
        indexes = [models.Index(fields=["outcome", "updated_at"], name="vendas_attempt_outcome")]

    def __str__(self) -> str:
        return f"{self.order_ref} ({self.outcome})"


class DeletedOrder(models.Model):
    """A draft deleted before it went anywhere: its number stays accounted for."""

    number = models.CharField(max_length=20, primary_key=True)
    order_id = models.UUIDField()
    customer_id = models.UUIDField()
    deleted_by = models.UUIDField(null=True, blank=True)
    deleted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["number"]

    def __str__(self) -> str:
        return f"{self.number} (deleted)"
