"""The ledger's services as finance users meet them: postings, reversals,
invoices, payments, receivables and periods."""

import datetime
from decimal import Decimal

import pytest

from erp.db import alias
from erp.models import OutboxEvent
from financeiro import services
from financeiro.contract import (
    AccountInUseError,
    AllocationInput,
    AlreadyReversedError,
    EntryLineInput,
    InvalidLedgerInputError,
    InvoiceLineInput,
    InvoiceMismatchError,
    OverAllocationError,
    PeriodClosedError,
    PeriodNotClosableError,
    SourceConflictError,
    UnbalancedEntryError,
)
from financeiro.models import Account, FiscalPeriod, Invoice, JournalEntry, JournalLine, PendingInvoice
from tests.financeiro.factories import DAY, account, customer, held, invoice, pay, post

pytestmark = pytest.mark.django_db(databases="__all__")


def balance_of(code: str) -> Decimal:
    """debit − credit of an account from its lines (not the reports under test)."""
    lines = JournalLine.objects.filter(account=account(code))
    return sum((line.debit - line.credit for line in lines), Decimal("0.00"))


def events_of(event_type: str) -> list[dict]:
    return [
        e.payload
        for e in OutboxEvent.objects.using(alias("financeiro"))
        .filter(event_type=event_type)
        .order_by("occurred_at")
    ]


# --- Posting ---------------------------------------------------------------------


def test_a_balanced_entry_is_posted_with_a_number_and_its_lines():
    entry = post(
        DAY, ("1000", "110.00", "0"), ("4000", "0", "100.00"), ("2100", "0", "10.00"), memo="Cash sale"
    )
    assert entry.number.startswith("JE-")
    assert entry.period == "2026-03"
    assert [(line.account_code, line.debit, line.credit) for line in entry.lines] == [
        ("1000", Decimal("110.00"), Decimal("0.00")),
        ("4000", Decimal("0.00"), Decimal("100.00")),
        ("2100", Decimal("0.00"), Decimal("10.00")),
    ]
    # Lines carry the entry's date and period: reports never join the header.
    assert set(JournalLine.objects.filter(entry_id=entry.id).values_list("date", "period__month")) == {
        (DAY, 3)
    }
    assert balance_of("1000") == Decimal("110.00")
    assert services.entry(entry_id=entry.id) == entry


def test_entry_numbers_are_unique_and_grow():
    numbers = [post(DAY, ("1000", "1.00", "0"), ("4000", "0", "1.00")).number for _ in range(3)]
    assert len(set(numbers)) == 3 and numbers == sorted(numbers)


def test_an_unbalanced_entry_is_refused_naming_the_difference():
    with pytest.raises(UnbalancedEntryError) as refused:
        post(DAY, ("1000", "100.00", "0"), ("4000", "0", "99.99"))
    assert refused.value.extra == {"difference": "0.01"}
    assert "0.01" in refused.value.message
    assert not JournalEntry.objects.exists()


@pytest.mark.parametrize(
    ("lines", "field", "code"),
    [
        ([("1000", "10.00", "0")], "lines", "min_length"),
        ([("1000", "10.00", "10.00"), ("4000", "0", "0")], "lines.0.debit", "one_side"),
        ([("1000", "0", "0"), ("4000", "0", "0")], "lines.0.debit", "one_side"),
        ([("1000", "-5.00", "0"), ("4000", "0", "-5.00")], "lines.0.debit", "min_value"),
        ([("1000", "1.005", "0"), ("4000", "0", "1.005")], "lines.0.debit", "max_decimal_places"),
    ],
)
def test_malformed_lines_are_refused_naming_the_field(lines, field, code):
    with pytest.raises(InvalidLedgerInputError) as refused:
        post(DAY, *lines)
    assert (refused.value.errors[0].field, refused.value.errors[0].code) == (field, code)
    assert not JournalEntry.objects.exists()


def test_an_inactive_or_unknown_account_is_refused():
    closed = account("5100")
    Account.objects.filter(pk=closed.pk).update(is_active=False)
    with pytest.raises(InvalidLedgerInputError) as refused:
        post(DAY, ("1000", "5.00", "0"), ("5100", "0", "5.00"))
    assert (refused.value.errors[0].field, refused.value.errors[0].code) == (
        "lines.1.account",
        "inactive_account",
    )
    with pytest.raises(InvalidLedgerInputError) as unknown:
        services.post_entry(
            date=DAY,
            lines=[
                EntryLineInput(account_id=account("1000").id, debit=Decimal("1")),
                EntryLineInput(account_id="00000000-0000-0000-0000-000000000000", credit=Decimal("1")),
            ],
        )
    assert unknown.value.errors[0].code == "unknown_account"


def test_a_posting_is_idempotent_by_its_source_reference():
    first = post(
        DAY, ("1200", "50.00", "0"), ("2000", "0", "50.00"), source="estoque.receipt", source_ref="R-1"
    )
    again = post(
        DAY, ("1200", "50.00", "0"), ("2000", "0", "50.00"), source="estoque.receipt", source_ref="R-1"
    )
    assert again.id == first.id
    assert JournalEntry.objects.count() == 1
    with pytest.raises(SourceConflictError):
        post(DAY, ("1200", "60.00", "0"), ("2000", "0", "60.00"), source="estoque.receipt", source_ref="R-1")


def test_a_reversal_mirrors_the_entry_once():
    original = post(DAY, ("1000", "30.00", "0"), ("4000", "0", "30.00"))
    reversal = services.reverse_entry(entry_id=original.id)
    assert reversal.reverses_id == original.id
    assert [(line.account_code, line.debit, line.credit) for line in reversal.lines] == [
        ("1000", Decimal("0.00"), Decimal("30.00")),
        ("4000", Decimal("30.00"), Decimal("0.00")),
    ]
    assert balance_of("1000") == balance_of("4000") == 0
    with pytest.raises(AlreadyReversedError):
        services.reverse_entry(entry_id=original.id)


# --- Periods ---------------------------------------------------------------------


def test_nothing_posts_into_a_closed_period_and_months_close_in_order():
    post(datetime.date(2026, 1, 10), ("1000", "1.00", "0"), ("4000", "0", "1.00"))
    post(datetime.date(2026, 2, 10), ("1000", "1.00", "0"), ("4000", "0", "1.00"))
    with pytest.raises(PeriodNotClosableError) as out_of_order:
        services.close_period(year=2026, month=2)
    assert out_of_order.value.extra == {"open_periods": ["2026-01"]}
    services.close_period(year=2026, month=1)
    closed = services.close_period(year=2026, month=2)
    assert closed.status == "closed"
    assert events_of("financeiro.PeriodClosed")[-1] == {
        "period_id": str(closed.id),
        "year": 2026,
        "month": 2,
        "closed_by": None,
    }
    with pytest.raises(PeriodClosedError):
        post(datetime.date(2026, 2, 28), ("1000", "1.00", "0"), ("4000", "0", "1.00"))
    with pytest.raises(PeriodNotClosableError):
        services.close_period(year=2026, month=2)
    # A fact of a closed month is booked on the first open day.
    assert services.first_open_day(datetime.date(2026, 1, 20)) == datetime.date(2026, 3, 1)


# --- Invoices and payments ---------------------------------------------------------


def test_an_invoice_rounds_each_line_half_up_and_posts_receivable_revenue_and_tax():
    who = customer()
    issued = services.issue_invoice(
        customer=who,
        issue_date=DAY,
        due_date=DAY + datetime.timedelta(days=30),
        lines=[
            # 3 × 0.3350 = 1.005 → 1.01; 10 % discount 0.101 → 0.10; tax 7.5 % of 0.91 = 0.06825 → 0.07
            InvoiceLineInput(
                quantity=Decimal("3"),
                unit_price=Decimal("0.3350"),
                discount_percent=Decimal("10"),
                tax_rate=Decimal("7.5"),
            ),
            # 7 × 1.4150 = 9.905 → 9.91; tax 12.5 % = 1.23875 → 1.24
            InvoiceLineInput(quantity=Decimal("7"), unit_price=Decimal("1.4150"), tax_rate=Decimal("12.5")),
        ],
    )
    assert [(line.subtotal, line.tax, line.total) for line in issued.lines] == [
        (Decimal("0.91"), Decimal("0.07"), Decimal("0.98")),
        (Decimal("9.91"), Decimal("1.24"), Decimal("11.15")),
    ]
    assert (issued.subtotal, issued.discount_total, issued.tax_total, issued.total) == (
        Decimal("10.82"),
        Decimal("0.10"),
        Decimal("1.31"),
        Decimal("12.13"),
    )
    assert issued.number == "INV-2026-000001" and issued.status == "open" and issued.balance == issued.total
    assert (balance_of("1100"), balance_of("4000"), balance_of("2100")) == (
        Decimal("12.13"),
        Decimal("-10.82"),
        Decimal("-1.31"),
    )
    assert events_of("financeiro.InvoiceIssued")[-1]["total"] == "12.13"


def test_invoice_numbers_are_gap_free_per_year_and_an_order_is_invoiced_once():
    order_id = customer().id
    first = invoice(order_id=order_id)
    again = invoice(order_id=order_id)
    second = invoice()
    next_year = invoice(issue_date=datetime.date(2027, 1, 2))
    assert again.id == first.id
    assert [first.number, second.number, next_year.number] == [
        "INV-2026-000001",
        "INV-2026-000002",
        "INV-2027-000001",
    ]


def test_partial_then_full_payment_moves_the_invoice_to_paid():
    issued = invoice(amount="100.00")  # 110.00 with tax
    partly = pay(issued, "40.00")
    assert Invoice.objects.get(pk=issued.id).status == "partially_paid"
    assert partly.unallocated == 0
    assert services.receivable_balance(customer_id=issued.customer_id) == Decimal("70.00")
    pay(issued, "70.00", method="cash")
    paid = services.invoice(invoice_id=issued.id)
    assert (paid.status, paid.amount_paid, paid.balance) == ("paid", Decimal("110.00"), Decimal("0.00"))
    assert services.receivable_balance(customer_id=issued.customer_id) == 0
    assert balance_of("1100") == 0
    assert (balance_of("1010"), balance_of("1000")) == (Decimal("40.00"), Decimal("70.00"))
    assert [e["invoice_id"] for e in events_of("financeiro.InvoicePaid")] == [str(issued.id)]


def test_an_unallocated_payment_is_a_credit_against_the_receivable():
    issued = invoice(amount="100.00")
    payment = pay(issued, "10.00", total="50.00")
    assert payment.unallocated == Decimal("40.00")
    assert services.receivable_balance(customer_id=issued.customer_id) == Decimal("60.00")


@pytest.mark.parametrize(
    ("allocated", "total", "field"),
    [("110.01", None, "allocations.0.amount"), ("20.00", "10.00", "allocations")],
)
def test_over_allocation_is_refused_and_nothing_is_posted(allocated, total, field):
    issued = invoice(amount="100.00")
    entries = JournalEntry.objects.count()
    with pytest.raises(OverAllocationError) as refused:
        pay(issued, allocated, total=total)
    assert refused.value.errors[0].field == field
    assert JournalEntry.objects.count() == entries
    assert services.invoice(invoice_id=issued.id).amount_paid == 0


def test_a_payment_cannot_be_allocated_to_another_customers_invoice():
    issued = invoice()
    with pytest.raises(InvalidLedgerInputError) as refused:
        services.record_payment(
            customer_id=customer().id,
            date=DAY,
            amount=Decimal("5.00"),
            allocations=[AllocationInput(invoice_id=issued.id, amount=Decimal("5.00"))],
        )
    assert refused.value.errors[0].code == "unknown_invoice"


def test_a_back_dated_posting_cannot_slip_under_a_closed_month():
    post(datetime.date(2026, 3, 10), ("1000", "1.00", "0"), ("4000", "0", "1.00"))
    services.close_period(year=2026, month=3)
    with pytest.raises(PeriodClosedError):  # February has no period yet: it is closed with March
        post(datetime.date(2026, 2, 10), ("1000", "1.00", "0"), ("4000", "0", "1.00"))
    assert services.first_open_day(datetime.date(2026, 2, 10)) == datetime.date(2026, 4, 1)


def test_a_posting_account_cannot_be_deactivated_nor_an_account_with_postings_change_type():
    with pytest.raises(AccountInUseError):
        services.account_update(account("1100"), is_active=False)
    post(DAY, ("1000", "1.00", "0"), ("5100", "0", "1.00"))
    adjustments = account("5100")
    adjustments.type = "income"  # as a form leaves the instance
    with pytest.raises(AccountInUseError):
        services.account_update(adjustments, type="income")
    assert Account.objects.get(code="5100").type == "expense"


# --- Month-end billing (faturamento mensal) -------------------------------------------------

NOVEMBER_5, NOVEMBER_30, DECEMBER_2 = (
    datetime.date(2026, 11, 5),
    datetime.date(2026, 11, 30),
    datetime.date(2026, 12, 2),
)


def test_a_month_end_shipment_is_kept_with_its_lines_and_no_invoice_nor_receivable():
    who = customer("Supermercado Estrela")
    pending = held(who, shipped_on=NOVEMBER_5, order_number="SO-2026-000007")
    again = held(who, shipped_on=NOVEMBER_5, order_id=pending.order_id)  # the event redelivered

    assert again.pk == pending.pk and PendingInvoice.objects.count() == 1
    assert not Invoice.objects.exists() and not JournalEntry.objects.exists()
    assert services.receivable_balance(customer_id=who.id) == Decimal("0.00")
    stored = PendingInvoice.objects.get()
    assert (stored.customer_id, stored.customer_name, stored.customer_code, stored.customer_tax_id) == (
        who.id,
        "Supermercado Estrela",
        who.code,
        who.tax_id,
    )
    assert (stored.order_number, stored.total, stored.tax_total, stored.bills_on) == (
        "SO-2026-000007",
        Decimal("110.55"),
        Decimal("10.05"),
        NOVEMBER_30,
    )
    (line,) = stored.lines
    assert line | {"product_id": None} == {
        "quantity": "3.000",
        "unit_price": "33.5000",
        "description": "Widget",
        "product_id": None,
        "sku": "SKU-1",
        "discount_percent": "0.00",
        "tax_rate": "10.00",
    }
    assert (stored.invoice_id, stored.billed_at) == (None, None)


def test_a_month_end_shipment_whose_totals_disagree_is_refused_when_it_arrives():
    with pytest.raises(InvoiceMismatchError, match=r"110\.56"):
        held(total=Decimal("110.56"))
    with pytest.raises(InvalidLedgerInputError) as refused:
        held(days=-1)
    assert refused.value.errors[0].field == "payment_terms_days"
    assert not PendingInvoice.objects.exists()


def test_an_invoicing_financeiro_does_not_know_is_refused():
    assert services.invoicing_mode("month_end") == "month_end"
    with pytest.raises(InvalidLedgerInputError) as refused:
        services.invoicing_mode("weekly")
    assert refused.value.errors[0].field == "invoicing"


def test_month_end_billing_invoices_a_month_once_it_has_ended_on_its_last_day():
    who = customer()
    early = held(who, shipped_on=NOVEMBER_5, days=30, order_number="SO-2026-000001")
    late = held(who, shipped_on=NOVEMBER_30, days=0, order_number="SO-2026-000002", quantity="1")
    december = held(who, shipped_on=DECEMBER_2, order_number="SO-2026-000003")

    # November has not ended on its last day: nothing is billed yet.
    assert services.bill_month_end(as_of=NOVEMBER_30) == 0
    assert not Invoice.objects.exists()

    assert services.bill_month_end(as_of=DECEMBER_2) == 2
    first, second = (Invoice.objects.get(order_id=p.order_id) for p in (early, late))
    assert (first.number, first.issue_date, first.due_date) == (
        "INV-2026-000001",
        NOVEMBER_30,
        datetime.date(2026, 12, 30),
    )
    assert (second.number, second.issue_date, second.due_date) == (
        "INV-2026-000002",
        NOVEMBER_30,
        NOVEMBER_30,
    )
    # One invoice per order, equal to the order's totals; posted on the issue date.
    assert (first.total, first.tax_total, first.customer_id, first.order_number) == (
        Decimal("110.55"),
        Decimal("10.05"),
        who.id,
        "SO-2026-000001",
    )
    assert (second.total, second.tax_total) == (Decimal("36.85"), Decimal("3.35"))
    assert first.entry.date == NOVEMBER_30
    assert services.receivable_balance(customer_id=who.id) == Decimal("147.40")
    for pending, issued in ((early, first), (late, second)):
        pending.refresh_from_db()
        assert pending.invoice_id == issued.pk and pending.billed_at is not None
    december.refresh_from_db()
    assert december.invoice_id is None and december.billed_at is None
    assert [e["order_id"] for e in events_of("financeiro.InvoiceIssued")] == [
        str(early.order_id),
        str(late.order_id),
    ]

    # Again (the hourly task, or someone running the command): nothing more.
    assert services.bill_month_end(as_of=DECEMBER_2) == 0
    assert Invoice.objects.count() == 2 and len(events_of("financeiro.InvoiceIssued")) == 2

    assert services.bill_month_end(as_of=datetime.date(2027, 1, 1)) == 1
    assert Invoice.objects.get(order_id=december.order_id).issue_date == datetime.date(2026, 12, 31)


def test_a_shipment_of_a_closed_month_is_billed_on_its_last_day_and_posted_in_the_first_open_one():
    services.close_period(year=2026, month=11)  # nothing waited for billing then
    late = held(shipped_on=NOVEMBER_5)  # its event arrived after the close
    assert services.bill_month_end(as_of=DECEMBER_2) == 1
    issued = Invoice.objects.get(order_id=late.order_id)
    assert issued.issue_date == NOVEMBER_30
    assert issued.entry.date == datetime.date(2026, 12, 1)


def test_a_month_does_not_close_while_its_shipments_await_month_end_billing():
    held(shipped_on=NOVEMBER_5, order_number="SO-2026-000001")
    held(shipped_on=NOVEMBER_30, order_number="SO-2026-000002")
    held(shipped_on=DECEMBER_2, order_number="SO-2026-000003")

    with pytest.raises(PeriodNotClosableError) as refused:
        services.close_period(year=2026, month=11)
    assert refused.value.message == (
        "2 shipments of 2026-11 await month-end billing (SO-2026-000001, SO-2026-000002): "
        "run manage.py bill_month_end."
    )
    assert refused.value.extra == {"awaiting_month_end_billing": ["SO-2026-000001", "SO-2026-000002"]}
    assert not FiscalPeriod.objects.filter(status="closed").exists()

    services.bill_month_end(as_of=DECEMBER_2)
    assert services.close_period(year=2026, month=11).status == "closed"
    with pytest.raises(PeriodNotClosableError, match="1 shipment of 2026-12 awaits month-end billing"):
        services.close_period(year=2026, month=12)


def test_a_shipment_that_cannot_be_invoiced_stays_pending_and_the_others_are_billed():
    broken = held(shipped_on=NOVEMBER_5, order_number="SO-2026-000001")
    fine = held(shipped_on=NOVEMBER_30, order_number="SO-2026-000002")
    PendingInvoice.objects.filter(pk=broken.pk).update(total=Decimal("1.00"))  # disagrees with its lines

    run = services.month_end_billing(as_of=DECEMBER_2)

    assert [p.order_number for p in run.billed] == ["SO-2026-000002"]
    ((refused, reason),) = run.failed
    assert refused.pk == broken.pk and "1.00" in reason
    assert list(Invoice.objects.values_list("order_id", flat=True)) == [fine.order_id]
    broken.refresh_from_db()
    assert broken.billed_at is None
