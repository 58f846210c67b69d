"""financeiro's tables (private: other apps use financeiro/contract.py).

The database carries the ledger's invariants, so code that bypasses the
services cannot break them (migration 0002, PostgreSQL):

* every journal entry balances and has at least two lines, checked at commit by
  a deferred constraint trigger;
* no line is written into a closed period;
* posted entries and their lines are immutable (corrections are reversals);
* ``AccountDayBalance`` is maintained by a statement-level trigger on the lines,
  so it equals a plain ``GROUP BY`` over them whoever inserts them.

Lines carry their entry's date, period and posted state: reports read the lines
(or the day balances) alone, never joining the entry header. Money has 2
places (ARCHITECTURE: Money).
"""

from __future__ import annotations

import calendar
import datetime
import uuid
from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from erp.money import adds_up

MONEY = {"max_digits": 18, "decimal_places": 2}
ZERO = Decimal("0.00")
# Concurrent postings to one account on one day spread over this many balance
# rows (one picked per transaction, migration 0002), so they rarely wait for
# each other.
BALANCE_SHARDS = 8


class Account(models.Model):
    class Type(models.TextChoices):
        ASSET = "asset", _("asset")
        LIABILITY = "liability", _("liability")
        EQUITY = "equity", _("equity")
        INCOME = "income", _("income")
        EXPENSE = "expense", _("expense")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=200)
    type = models.CharField(_("type"), max_length=10, choices=Type.choices)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class FiscalPeriod(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("open")
        CLOSING = "closing", _("closing")
        CLOSED = "closed", _("closed")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    year = models.PositiveSmallIntegerField(_("year"))
    month = models.PositiveSmallIntegerField(_("month"))
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.OPEN)
    workflow = models.UUIDField(_("close workflow thread"), null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.UUIDField(null=True, blank=True)  # core's user id

    class Meta:
        ordering = ["year", "month"]
        constraints = [
            models.UniqueConstraint(fields=["year", "month"], name="financeiro_period_unique"),
            models.CheckConstraint(condition=Q(month__gte=1, month__lte=12), name="financeiro_period_month"),
        ]

    def __str__(self) -> str:
        return f"{self.year}-{self.month:02d}"


class JournalEntry(models.Model):
    """A posted entry; ``number`` comes from a database sequence (JE-000001),
    never from a counter row every posting would queue on."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    number = models.CharField(_("number"), max_length=20, unique=True)
    date = models.DateField(_("date"))
    period = models.ForeignKey(FiscalPeriod, on_delete=models.PROTECT, related_name="entries")
    memo = models.CharField(_("memo"), max_length=500, blank=True, default="")
    source = models.CharField(_("source"), max_length=40, default="manual")
    source_ref = models.CharField(_("source reference"), max_length=200, blank=True, default="")
    reverses = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by"
    )
    created_by = models.UUIDField(null=True, blank=True)  # core's user id
    posted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-date", "-number"]
        constraints = [
            # Idempotent postings: one entry per source document.
            models.UniqueConstraint(
                fields=["source", "source_ref"],
                condition=~Q(source_ref=""),
                name="financeiro_entry_source_once",
            ),
        ]

    def __str__(self) -> str:
        return self.number


class JournalLine(models.Model):
    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="lines")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="lines")
    # Copied from the entry: reports never join the header.
    date = models.DateField()
    period = models.ForeignKey(FiscalPeriod, on_delete=models.PROTECT, related_name="lines")
    posted = models.BooleanField(default=True)
    debit = models.DecimalField(**MONEY, default=ZERO)
    credit = models.DecimalField(**MONEY, default=ZERO)
    description = models.CharField(_("description"), max_length=500, blank=True, default="")

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["account", "date"], name="financeiro_line_account_date")]
        constraints = [
            models.CheckConstraint(
                condition=(Q(debit__gt=0, credit=0) | Q(debit=0, credit__gt=0)),
                name="financeiro_line_one_positive_side",
            ),
        ]

    def __str__(self) -> str:
        side = f"Dr {self.debit}" if self.debit else f"Cr {self.credit}"
        return f"{self.date} {self.account_id} {side}"


class AccountDayBalance(models.Model):
    """Debits and credits of the posted lines per account, day and shard: a
    trial balance as of any date sums these rows, not the lines."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    day = models.DateField()
    shard = models.PositiveSmallIntegerField()
    debit = models.DecimalField(**MONEY, default=ZERO)
    credit = models.DecimalField(**MONEY, default=ZERO)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "day", "shard"], name="financeiro_day_balance_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.account_id}/{self.shard}: Dr {self.debit} Cr {self.credit}"


class PostingAccount(models.Model):
    """Which account an automatic posting uses for each purpose (editable in
    the admin; the default chart fills them)."""

    class Purpose(models.TextChoices):
        CASH = "cash", _("cash (payments in cash)")
        BANK = "bank", _("bank (other payments)")
        RECEIVABLES = "receivables", _("accounts receivable")
        INVENTORY = "inventory", _("inventory")
        GOODS_RECEIVED = "goods_received", _("goods received not invoiced")
        TAXES_PAYABLE = "taxes_payable", _("taxes payable")
        REVENUE = "revenue", _("revenue")
        COST_OF_GOODS_SOLD = "cost_of_goods_sold", _("cost of goods sold")
        INVENTORY_ADJUSTMENTS = "inventory_adjustments", _("inventory adjustments")
        RETAINED_EARNINGS = "retained_earnings", _("retained earnings")

    purpose = models.CharField(_("purpose"), max_length=32, choices=Purpose.choices, unique=True)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["purpose"]

    def __str__(self) -> str:
        return f"{self.purpose} -> {self.account_id}"


class InvoiceCounter(models.Model):
    """The last invoice number of a year: gap-free numbers take this row's lock
    for the rest of the issuing transaction (invoices are not a hot path)."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.year}: {self.last}"


class Invoice(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("open")
        PARTIALLY_PAID = "partially_paid", _("partially paid")
        PAID = "paid", _("paid")
        VOID = "void", _("void")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    number = models.CharField(_("number"), max_length=20, unique=True)
    customer_id = models.UUIDField(_("customer"))
    # A snapshot: the invoice says whom it was issued to, whatever vendas changes later.
    customer_code = models.CharField(_("customer code"), max_length=64, blank=True, default="")
    customer_name = models.CharField(_("customer name"), max_length=200)
    customer_tax_id = models.CharField(_("customer tax id"), max_length=64, blank=True, default="")
    order_id = models.UUIDField(_("order"), null=True, blank=True, unique=True)
    order_number = models.CharField(_("order number"), max_length=32, blank=True, default="")
    currency = models.CharField(_("currency"), max_length=3, blank=True, default="")
    issue_date = models.DateField(_("issue date"))
    due_date = models.DateField(_("due date"))
    subtotal = models.DecimalField(_("subtotal"), **MONEY)
    discount_total = models.DecimalField(_("discount total"), **MONEY, default=ZERO)
    tax_total = models.DecimalField(_("tax total"), **MONEY)
    total = models.DecimalField(_("total"), **MONEY)
    amount_paid = models.DecimalField(_("amount paid"), **MONEY, default=ZERO)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.OPEN)
    entry = models.OneToOneField(JournalEntry, on_delete=models.PROTECT, related_name="invoice")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-issue_date", "-number"]
        indexes = [models.Index(fields=["customer_id", "status"], name="financeiro_invoice_customer")]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount_paid__gte=0, amount_paid__lte=models.F("total")),
                name="financeiro_invoice_paid_within_total",
            ),
            models.CheckConstraint(
                condition=adds_up("total", "subtotal", "tax_total"),
                name="financeiro_invoice_total_adds_up",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def balance(self) -> Decimal:
        return self.total - self.amount_paid


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    product_id = models.UUIDField(null=True, blank=True)
    sku = models.CharField(max_length=64, blank=True, default="")
    description = models.CharField(max_length=500, blank=True, default="")
    quantity = models.DecimalField(max_digits=18, decimal_places=3)
    unit_price = models.DecimalField(max_digits=18, decimal_places=4)
    discount_percent = models.DecimalField(max_digits=5, decimal_places=2, default=ZERO)
    tax_rate = models.DecimalField(max_digits=5, decimal_places=2, default=ZERO)
    discount = models.DecimalField(**MONEY, default=ZERO)
    subtotal = models.DecimalField(**MONEY)
    tax = models.DecimalField(**MONEY)
    total = models.DecimalField(**MONEY)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.quantity} {self.sku or self.description}"


class Payment(models.Model):
    class Method(models.TextChoices):
        CASH = "cash", _("cash")
        BANK_TRANSFER = "bank_transfer", _("bank transfer")
        CARD = "card", _("card")
        CHECK = "check", _("check")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    customer_id = models.UUIDField(_("customer"))
    date = models.DateField(_("date"))
    amount = models.DecimalField(_("amount"), **MONEY)
    method = models.CharField(
        _("method"), max_length=16, choices=Method.choices, default=Method.BANK_TRANSFER
    )
    reference = models.CharField(_("reference"), max_length=200, blank=True, default="")
    entry = models.OneToOneField(JournalEntry, on_delete=models.PROTECT, related_name="payment")
    created_by = models.UUIDField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-date", "-created_at"]
        indexes = [models.Index(fields=["customer_id", "date"], name="financeiro_payment_customer")]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="financeiro_payment_positive")]

    def __str__(self) -> str:
        return f"{self.date} {self.amount}"


class PaymentAllocation(models.Model):
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="allocations")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="allocations")
    amount = models.DecimalField(**MONEY)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="financeiro_allocation_positive"),
            models.UniqueConstraint(fields=["payment", "invoice"], name="financeiro_allocation_once"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} to {self.invoice_id}"


class PendingInvoice(models.Model):
    """A shipment of a customer invoiced at month end (``vendas.OrderShipped``
    with ``invoicing`` ``month_end``): everything its invoice needs, kept until
    ``services.bill_month_end`` issues it once the shipping month has ended
    (issued on the month's last day). One per order; ``invoice`` and
    ``billed_at`` are set together when it is billed."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    order_id = models.UUIDField(_("order"), unique=True)
    order_number = models.CharField(_("order number"), max_length=32, blank=True, default="")
    # The customer's snapshot when the order shipped, as an invoice keeps it.
    customer_id = models.UUIDField(_("customer"))
    customer_code = models.CharField(_("customer code"), max_length=64, blank=True, default="")
    customer_name = models.CharField(_("customer name"), max_length=200)
    customer_tax_id = models.CharField(_("customer tax id"), max_length=64, blank=True, default="")
    shipped_on = models.DateField(_("shipped on"))
    payment_terms_days = models.PositiveIntegerField(_("payment terms (days)"))
    currency = models.CharField(_("currency"), max_length=3, blank=True, default="")
    # The invoice's lines: InvoiceLineInput's fields, decimals and ids as strings.
    lines = models.JSONField(_("lines"))
    total = models.DecimalField(_("total"), **MONEY)
    tax_total = models.DecimalField(_("tax total"), **MONEY)
    created_at = models.DateTimeField(auto_now_add=True)
    invoice = models.OneToOneField(
        Invoice, null=True, blank=True, on_delete=models.PROTECT, related_name="pending_shipment"
    )
    billed_at = models.DateTimeField(_("billed at"), null=True, blank=True)

    class Meta:
        ordering = ["shipped_on", "order_number"]
        indexes = [
            # What month-end billing and a month's close look for: the shipments not billed yet.
            models.Index(
                fields=["shipped_on"], condition=Q(billed_at__isnull=True), name="financeiro_pending_unbilled"
            ),
            models.Index(fields=["customer_id", "shipped_on"], name="financeiro_pending_customer"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(invoice__isnull=True, billed_at__isnull=True)
                | Q(invoice__isnull=False, billed_at__isnull=False),
                name="financeiro_pending_billed_with_invoice",
            ),
        ]

    def __str__(self) -> str:
        return self.order_number or str(self.order_id)

    @property
    def bills_on(self) -> datetime.date:
        """The invoice's issue date: the last day of the shipping month."""
        day = self.shipped_on
        return day.replace(day=calendar.monthrange(day.year, day.month)[1])
