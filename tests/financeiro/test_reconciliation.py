"""financeiro/reconciliation.py: the books are built through the services;
corruption comes from raw SQL, as a script or a bad migration would do it,
within what the database still allows. The tests never commit, so the
deferred balance trigger does not refuse an unbalanced raw entry; Django's
teardown would fire it (SET CONSTRAINTS ALL IMMEDIATE), so such entries live in
a savepoint rolled back at the end of the test (``unchecked``)."""

import datetime
import uuid
from decimal import Decimal

import pytest
from django.db import connections, transaction
from django.test.utils import CaptureQueriesContext

from erp.db import alias
from financeiro import reconciliation
from financeiro.models import FiscalPeriod, Invoice
from financeiro.reconciliation import Difference
from tests.estoque.factories import stocked
from tests.financeiro.factories import DAY, account, invoice, pay, post

pytestmark = pytest.mark.django_db(databases="__all__")
D = Decimal


def sql(statement: str, params=()) -> None:
    with connections[alias("financeiro")].cursor() as cursor:
        cursor.execute(statement, params)


@pytest.fixture
def books():
    """A capital entry, one invoice partly paid, one paid in full, and a
    payment that leaves a credit (110.00 each invoice)."""
    post(DAY, ("1010", "1000.00", "0"), ("3000", "0", "1000.00"), memo="capital")
    partly, fully = invoice(), invoice()
    partial = pay(partly, "50.00")
    full = pay(fully, "110.00", total="150.00")
    return {"partly": partly, "fully": fully, "partial": partial, "full": full}


@pytest.fixture
def unchecked():
    """A savepoint rolled back after the test, with the balance checks it queued."""
    with transaction.atomic(using=alias("financeiro")):
        yield
        transaction.set_rollback(True, using=alias("financeiro"))


def differences(**options) -> list[Difference]:
    return reconciliation.ledger_differences(**options)


def raw_entry(lines, *, day: datetime.date = DAY, number: str = "JE-RAW1") -> uuid.UUID:
    """An entry and its lines inserted with SQL alone (never committed)."""
    period = FiscalPeriod.objects.get(year=day.year, month=day.month)
    entry_id = uuid.uuid4()
    sql(
        "INSERT INTO financeiro_journalentry (id, number, date, period_id, memo, source, source_ref, posted_at)"
        " VALUES (%s, %s, %s, %s, '', 'raw', '', now())",
        [entry_id, number, day, period.pk],
    )
    for code, debit, credit, line_day in lines:
        sql(
            "INSERT INTO financeiro_journalline (entry_id, account_id, date, period_id, posted, debit, credit,"
            " description) VALUES (%s, %s, %s, %s, true, %s, %s, '')",
            [entry_id, account(code).pk, line_day or day, period.pk, debit, credit],
        )
    return entry_id


def test_books_kept_by_the_services_have_no_differences(books):
    assert differences() == []
    assert reconciliation.totals() == reconciliation.Totals(entries=5, lines=12, invoices=2, payments=2)


def test_an_unbalanced_entry_is_named(books, unchecked):
    raw_entry([("1000", "100.00", "0", None), ("4000", "0", "99.99", None)])

    assert differences() == [
        Difference("JE-RAW1", reconciliation.ENTRY_BALANCE, D("100.00"), D("99.99")),
    ]
    assert (
        str(differences()[0]) == "JE-RAW1: credits of the entry vs its debits: expected 100.00, actual 99.99"
    )


def test_entries_with_fewer_than_two_lines(books, unchecked):
    raw_entry([("1000", "10.00", "0", None)], number="JE-RAW1")
    raw_entry([], number="JE-RAW2")

    assert differences() == [
        Difference("JE-RAW1", reconciliation.ENTRY_LINES, 2, 1),
        Difference("JE-RAW1", reconciliation.ENTRY_BALANCE, D("10.00"), D("0.00")),
        Difference("JE-RAW2", reconciliation.ENTRY_LINES, 2, 0),
    ]


def test_a_line_dated_apart_from_its_entry(books):
    raw_entry([("1000", "10.00", "0", None), ("4000", "0", "10.00", DAY + datetime.timedelta(days=1))])
    assert differences() == [Difference("JE-RAW1", reconciliation.ENTRY_LINE_COPIES, 0, 1)]


def test_a_day_balance_row_the_lines_never_made(books):
    cash = account("1000")
    sql(
        "INSERT INTO financeiro_accountdaybalance (account_id, day, shard, debit, credit) VALUES (%s, %s, 99, 5, 0)",
        [cash.pk, DAY],
    )
    assert differences() == [
        Difference("account 1000", reconciliation.ACCOUNT_DEBITS, D("0.00"), D("5.00")),
        Difference("account 1000 on 2026-03-14", reconciliation.DAY_DEBITS, D("0.00"), D("5.00")),
    ]


def test_a_day_balance_moved_to_another_day_shows_on_both_days_not_in_the_total(books):
    sql(
        "UPDATE financeiro_accountdaybalance SET day = %s WHERE account_id = %s",
        [DAY + datetime.timedelta(days=1), account("3000").pk],
    )
    assert differences() == [
        Difference("account 3000 on 2026-03-14", reconciliation.DAY_CREDITS, D("1000.00"), D("0.00")),
        Difference("account 3000 on 2026-03-15", reconciliation.DAY_CREDITS, D("0.00"), D("1000.00")),
    ]


def test_an_invoice_paid_more_than_its_allocations(books):
    number = books["partly"].number
    sql("UPDATE financeiro_invoice SET amount_paid = 60 WHERE number = %s", [number])

    assert differences() == [
        Difference(f"invoice {number}", reconciliation.INVOICE_PAID, D("50.00"), D("60.00")),
    ]
    assert str(differences()[0]) == (
        f"invoice {number}: amount paid vs the sum of its allocations: expected 50.00, actual 60.00"
    )


@pytest.mark.parametrize(
    ("invoice_key", "status", "expected"),
    [
        ("partly", "paid", "partially_paid"),
        ("partly", "open", "partially_paid"),
        ("fully", "partially_paid", "paid"),
    ],
)
def test_a_status_its_balance_contradicts(books, invoice_key, status, expected):
    number = books[invoice_key].number
    sql("UPDATE financeiro_invoice SET status = %s WHERE number = %s", [status, number])
    assert differences() == [Difference(f"invoice {number}", reconciliation.INVOICE_STATUS, expected, status)]


def test_an_unpaid_invoice_marked_paid_and_a_void_one_left_alone(books):
    unpaid = invoice()
    sql("UPDATE financeiro_invoice SET status = 'paid' WHERE id = %s", [unpaid.id])
    sql("UPDATE financeiro_invoice SET status = 'void' WHERE id = %s", [books["partly"].id])
    assert differences() == [
        Difference(f"invoice {unpaid.number}", reconciliation.INVOICE_STATUS, "open", "paid"),
    ]


def test_an_invoice_that_disagrees_with_its_lines(books):
    number = books["partly"].number
    sql(
        "UPDATE financeiro_invoiceline SET tax = tax + 1, total = total + 1 WHERE invoice_id = %s",
        [books["partly"].id],
    )
    assert differences() == [
        Difference(f"invoice {number}", reconciliation.INVOICE_LINES_TAX, D("11.00"), D("10.00")),
        Difference(f"invoice {number}", reconciliation.INVOICE_LINES_TOTAL, D("111.00"), D("110.00")),
    ]


def test_an_invoice_whose_entry_does_not_post_its_total(books):
    capital = post(DAY, ("1000", "5.00", "0"), ("3000", "0", "5.00"))
    invoice_row = Invoice.objects.get(pk=books["fully"].id)
    sql("UPDATE financeiro_invoice SET entry_id = %s WHERE id = %s", [capital.id, invoice_row.pk])
    assert differences() == [
        Difference(f"invoice {invoice_row.number}", reconciliation.INVOICE_POSTED, D("110.00"), D("0.00")),
    ]


def test_a_payment_allocating_more_than_its_amount(books):
    payment = books["partial"]
    sql("UPDATE financeiro_payment SET amount = 40 WHERE id = %s", [payment.id])

    assert differences() == [
        Difference(f"payment {payment.id}", reconciliation.PAYMENT_ALLOCATED, D("40.00"), D("50.00")),
        Difference(f"payment {payment.id}", reconciliation.PAYMENT_POSTED, D("40.00"), D("50.00")),
    ]


def test_an_allocation_raised_behind_the_services(books):
    payment, partly = books["partial"], books["partly"]
    sql("UPDATE financeiro_paymentallocation SET amount = 60 WHERE payment_id = %s", [payment.id])
    assert differences() == [
        Difference(f"invoice {partly.number}", reconciliation.INVOICE_PAID, D("60.00"), D("50.00")),
        Difference(f"payment {payment.id}", reconciliation.PAYMENT_ALLOCATED, D("50.00"), D("60.00")),
    ]


def test_inventory_posted_without_stock_is_a_difference_unless_skipped(books):
    post(DAY, ("1200", "100.00", "0"), ("2000", "0", "100.00"), memo="goods nobody received")

    assert differences() == [
        Difference("account 1200 (inventory)", reconciliation.INVENTORY_STOCK_VALUE, D("0.00"), D("100.00")),
    ]
    assert str(differences()[0]) == (
        "account 1200 (inventory): inventory account balance vs estoque's stock value: "
        "expected 0.00, actual 100.00"
    )
    assert differences(include_stock=False) == []


def test_stock_booked_to_the_cent_agrees_and_one_cent_less_does_not(books):
    product = stocked(quantity=3, unit_cost="3.3333")  # 10.00 in estoque
    assert product.stock_value == D("10.00")
    post(DAY, ("1200", "9.99", "0"), ("2000", "0", "9.99"))
    assert differences() == [
        Difference("account 1200 (inventory)", reconciliation.INVENTORY_STOCK_VALUE, D("10.00"), D("9.99")),
    ]

    post(DAY, ("1200", "0.01", "0"), ("2000", "0", "0.01"))
    assert differences() == []


def test_the_checks_cost_the_same_queries_for_one_invoice_or_five():
    def queries() -> int:
        contexts = [CaptureQueriesContext(connections[name]) for name in connections]
        for context in contexts:
            context.__enter__()
        try:
            assert differences() == []
        finally:
            for context in contexts:
                context.__exit__(None, None, None)
        return sum(len(context) for context in contexts)

    pay(invoice(), "10.00")
    few = queries()
    for _ in range(4):
        pay(invoice(), "10.00")
    assert queries() == few
