"""Querysets for financeiro's list endpoints and admin: each joins or
prefetches what its rows show, so a page costs the same queries whatever its
length."""

from decimal import Decimal

from django.db.models import F, Prefetch, QuerySet, Sum, Value
from django.db.models.functions import Coalesce

from erp.db import alias
from financeiro.models import (
    Account,
    FiscalPeriod,
    Invoice,
    JournalEntry,
    JournalLine,
    Payment,
    PaymentAllocation,
    PendingInvoice,
)


def _db() -> str:
    return alias("financeiro")


def accounts() -> QuerySet[Account]:
    return Account.objects.using(_db()).order_by("code")


def entries() -> QuerySet[JournalEntry]:
    lines = JournalLine.objects.using(_db()).select_related("account").order_by("id")
    return (
        JournalEntry.objects.using(_db())
        .select_related("period", "reversed_by")
        .prefetch_related(Prefetch("lines", queryset=lines))
    )


def invoices() -> QuerySet[Invoice]:
    return (
        Invoice.objects.using(_db())
        .annotate(balance_due=F("total") - F("amount_paid"))
        .prefetch_related("lines")
    )


def payments() -> QuerySet[Payment]:
    allocations = PaymentAllocation.objects.using(_db()).select_related("invoice").order_by("id")
    return (
        Payment.objects.using(_db())
        .annotate(unallocated=F("amount") - Coalesce(Sum("allocations__amount"), Value(Decimal("0.00"))))
        .prefetch_related(Prefetch("allocations", queryset=allocations))
    )


def pending_invoices() -> QuerySet[PendingInvoice]:
    return PendingInvoice.objects.using(_db()).select_related("invoice")


def periods() -> QuerySet[FiscalPeriod]:
    return FiscalPeriod.objects.using(_db()).order_by("-year", "-month")
