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

from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

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
        ordering = ["-date", "-id"]
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
