"""Property: whatever sequence of postings, reversals, refused entries,
invoices and payments finance goes through, the books stay right. After each
random sequence (hypothesis), checked against the lines themselves:

* every entry balances and has at least two lines;
* the trial balance's totals are equal, and it equals a plain GROUP BY over
  the lines as of any date (the maintained day balances included);
* assets = liabilities + equity + current earnings;
* each invoice's balance = total − its allocations, its status following;
* the receivables account = invoices issued − payments received, and AR
  aging owes that plus the customers' unallocated credit;

The examples of one run share a database transaction, so the books grow from
one example to the next: each check is of the whole books, as they stand.
"""

import contextlib
import datetime
import itertools
from decimal import Decimal

import pytest
from django.db import connections
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from erp.db import alias
from financeiro import reconciliation, services
from financeiro.contract import (
    AllocationInput,
    EntryLineInput,
    InvalidLedgerInputError,
    InvoiceLineInput,
    UnbalancedEntryError,
)
from financeiro.models import Invoice, JournalEntry, Payment, PaymentAllocation
from tests.financeiro.factories import account, customer

pytestmark = pytest.mark.django_db(databases="__all__")

# Receivables only through invoices and payments: the last check relies on it.
CODES = ["1000", "1010", "1200", "2000", "2100", "3000", "4000", "5000", "5100"]
START = datetime.date(2026, 1, 1)
CENTS = st.integers(min_value=1, max_value=1_000_000)
DAYS = st.integers(min_value=0, max_value=89)
CUSTOMERS = [customer(f"Customer {n}") for n in range(3)]


def money(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(Decimal("0.01"))


def split(total: int, cuts: list[int]) -> list[int]:
    """``total`` cents in parts of at least one cent, cut at ``cuts``."""
    points = sorted({1 + c % (total - 1) for c in cuts}) if total > 1 else []
    bounds = [0, *points, total]
    return [b - a for a, b in itertools.pairwise(bounds)]


@st.composite
def entries(draw):
    codes = draw(st.lists(st.sampled_from(CODES), min_size=2, max_size=5, unique=True))
    debit_codes, credit_codes = codes[: len(codes) // 2], codes[len(codes) // 2 :]
    total = draw(st.integers(min_value=len(codes), max_value=1_000_000))
    debits = split(
        total,
        draw(st.lists(st.integers(0, 10**6), min_size=len(debit_codes) - 1, max_size=len(debit_codes) - 1)),
    )
    credits = split(
        total,
        draw(st.lists(st.integers(0, 10**6), min_size=len(credit_codes) - 1, max_size=len(credit_codes) - 1)),
    )
    lines = [
        EntryLineInput(account_id=account(c).id, debit=money(d))
        for c, d in zip(debit_codes, debits, strict=False)
    ]
    lines += [
        EntryLineInput(account_id=account(c).id, credit=money(d))
        for c, d in zip(credit_codes, credits, strict=False)
    ]
    return ("post", START + datetime.timedelta(days=draw(DAYS)), lines)


@st.composite
def invoices(draw):
    lines = [
        InvoiceLineInput(
            quantity=Decimal(draw(st.integers(1, 999))) / 10,
            unit_price=Decimal(draw(st.integers(1, 10**7))) / 10**4,
            discount_percent=Decimal(draw(st.sampled_from([0, 5, 12.5, 33.33]))).quantize(Decimal("0.01")),
            tax_rate=Decimal(draw(st.sampled_from([0, 7.5, 10, 17.25]))).quantize(Decimal("0.01")),
        )
        for _ in range(draw(st.integers(1, 3)))
    ]
    return ("invoice", START + datetime.timedelta(days=draw(DAYS)), draw(st.integers(0, 2)), lines)


OPERATIONS = st.one_of(
    entries(),
    invoices(),
    st.tuples(st.just("reverse"), st.integers(0, 50)),
    st.tuples(st.just("pay"), st.integers(0, 2), CENTS, st.floats(0, 1.2)),
    st.tuples(st.just("unbalanced"), DAYS, CENTS),
)


def apply(operation) -> None:
    kind = operation[0]
    if kind == "post":
        services.post_entry(date=operation[1], lines=operation[2])
    elif kind == "invoice":
        _, day, who, lines = operation
        with contextlib.suppress(InvalidLedgerInputError):  # a total of zero (every line rounds to 0.00)
            services.issue_invoice(customer=CUSTOMERS[who], issue_date=day, due_date=day, lines=lines)
    elif kind == "reverse":
        reversible = list(
            JournalEntry.objects.filter(reversed_by__isnull=True, source="manual").order_by("number")
        )
        if reversible:
            services.reverse_entry(entry_id=reversible[operation[1] % len(reversible)].id)
    elif kind == "pay":
        pay(*operation[1:])
    else:
        before = JournalEntry.objects.count()
        with pytest.raises(UnbalancedEntryError):
            services.post_entry(
                date=START + datetime.timedelta(days=operation[1]),
                lines=[
                    EntryLineInput(account_id=account("1000").id, debit=money(operation[2] + 1)),
                    EntryLineInput(account_id=account("4000").id, credit=money(operation[2])),
                ],
            )
        assert JournalEntry.objects.count() == before


def pay(who: int, cents: int, share: float) -> None:
    """A payment of ``cents`` allocating ``share`` of it to the customer's oldest open invoice."""
    owed = Invoice.objects.filter(
        customer_id=CUSTOMERS[who].id, status__in=["open", "partially_paid"]
    ).first()
    allocations = []
    if owed is not None:
        allocated = min(owed.balance, money(max(1, int(cents * share))))
        allocations = [AllocationInput(invoice_id=owed.id, amount=allocated)]
        cents = max(cents, int(allocated * 100))
    services.record_payment(
        customer_id=CUSTOMERS[who].id,
        date=START + datetime.timedelta(days=60),
        amount=money(cents),
        allocations=allocations,
    )


def lines_group_by(as_of: datetime.date) -> dict:
    with connections[alias("financeiro")].cursor() as cursor:
        cursor.execute(
            "SELECT account_id, sum(debit), sum(credit) FROM financeiro_journalline WHERE date <= %s GROUP BY 1",
            [as_of],
        )
        return {row[0]: (row[1], row[2]) for row in cursor.fetchall()}


def check_books() -> None:
    assert reconciliation.ledger_differences(include_stock=False) == []
    for as_of in (START + datetime.timedelta(days=d) for d in (0, 31, 59, 120)):
        trial = services.trial_balance(as_of=as_of)
        assert trial.total_debit == trial.total_credit
        assert {row.account_id: (row.debit, row.credit) for row in trial.rows} == lines_group_by(as_of)
        sheet = services.balance_sheet(as_of=as_of)
        assert sheet.total_assets == sheet.total_liabilities + sheet.total_equity
    for invoice in Invoice.objects.prefetch_related("allocations"):
        allocated = sum((a.amount for a in invoice.allocations.all()), Decimal("0.00"))
        assert invoice.balance == invoice.total - allocated
        assert invoice.status == (
            "paid" if invoice.balance == 0 else "partially_paid" if allocated else "open"
        )
    receivables = lines_group_by(datetime.date(9999, 12, 31)).get(
        account("1100").id, (Decimal(0), Decimal(0))
    )
    issued = sum((i.total for i in Invoice.objects.all()), Decimal("0.00"))
    received = sum((p.amount for p in Payment.objects.all()), Decimal("0.00"))
    assert receivables[0] - receivables[1] == issued - received
    # AR aging owes what the receivables account holds, less the customers' unallocated credit.
    allocated = sum((a.amount for a in PaymentAllocation.objects.all()), Decimal("0.00"))
    aging = services.ar_aging(as_of=datetime.date(9999, 12, 31))
    assert aging.total == receivables[0] - receivables[1] + (received - allocated)
    assert aging.total == sum((row.total for row in aging.rows), Decimal("0.00"))


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(operations=st.lists(OPERATIONS, min_size=1, max_size=12))
def test_the_books_stay_right_whatever_finance_does(operations):
    for operation in operations:
        apply(operation)
    check_books()
