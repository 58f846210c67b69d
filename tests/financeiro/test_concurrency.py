"""The ledger under concurrent postings, on PostgreSQL: several connections
post to the same accounts (cash, the busiest) at once. No lost update, no
deadlock, every entry numbered once, the day balances equal to the lines; a
close racing postings leaves nothing in the closed month after it; month-end
billing run twice at once invoices each shipment once."""

import datetime
from decimal import Decimal

import pytest

from financeiro import services
from financeiro.contract import PeriodClosedError
from financeiro.models import AccountDayBalance, Invoice, JournalEntry, JournalLine, PendingInvoice
from tests.concurrency import burst, outcomes
from tests.financeiro.factories import account, held, post

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")

DAY = datetime.date(2026, 3, 14)
WORKERS = 6
ENTRIES_EACH = 15


def sale(day=DAY, amount="10.00"):
    return post(day, ("1000", amount, "0"), ("4000", "0", amount))


def test_concurrent_postings_to_one_account_lose_nothing():
    cash, revenue = account("1000"), account("4000")
    sale()  # the day's balance rows exist: the workers meet on them, not on their creation

    def many():
        return [sale().number for _ in range(ENTRIES_EACH)]

    results = burst([many] * WORKERS)
    assert outcomes(results) == {"list": WORKERS}, results
    numbers = [number for batch in results for number in batch]
    assert len(set(numbers)) == WORKERS * ENTRIES_EACH
    expected = Decimal("10.00") * (WORKERS * ENTRIES_EACH + 1)
    for account_, side in ((cash, "debit"), (revenue, "credit")):
        from_lines = sum(getattr(line, side) for line in JournalLine.objects.filter(account=account_))
        from_balances = sum(getattr(row, side) for row in AccountDayBalance.objects.filter(account=account_))
        assert from_lines == from_balances == expected
    trial = services.trial_balance(as_of=DAY)
    assert trial.total_debit == trial.total_credit == expected


def test_a_close_racing_postings_leaves_nothing_in_the_closed_month():
    sale()

    def keep_posting():
        posted, refused = 0, 0
        for _ in range(ENTRIES_EACH):
            try:
                sale()
                posted += 1
            except PeriodClosedError:
                refused += 1
        return posted, refused

    def close():
        closed = services.close_period(year=2026, month=3)
        return JournalLine.objects.filter(period_id=closed.id).count()

    results = burst([keep_posting] * 3 + [close])
    *postings, lines_at_close = results
    assert all(isinstance(r, tuple) for r in postings), results
    assert JournalLine.objects.filter(date__month=3).count() == lines_at_close
    posted = sum(p for p, _refused in postings)
    assert JournalEntry.objects.count() == posted + 1


def test_month_end_billing_run_twice_at_once_invoices_each_shipment_once():
    shipments = [
        held(shipped_on=datetime.date(2026, 11, 1 + n), order_number=f"SO-2026-{n + 1:06d}")
        for n in range(12)
    ]

    def run():
        return services.bill_month_end(as_of=datetime.date(2026, 12, 1))

    results = burst([run] * 3)
    assert outcomes(results) == {"int": 3}, results
    assert sum(results) == len(shipments)
    invoices = Invoice.objects.order_by("number")
    assert sorted(invoices.values_list("order_id", flat=True)) == sorted(p.order_id for p in shipments)
    # Gap-free numbers, one entry each, every shipment pointing at its own invoice.
    assert [i.number for i in invoices] == [f"INV-2026-{n:06d}" for n in range(1, 13)]
    assert JournalEntry.objects.filter(source="invoice").count() == 12
    billed = PendingInvoice.objects.filter(billed_at__isnull=False)
    assert {(p.order_id, p.invoice.order_id) for p in billed.select_related("invoice")} == {
        (p.order_id, p.order_id) for p in shipments
    }
