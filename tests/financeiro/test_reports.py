"""The reports agree with the journal lines they summarise (financeiro/reports.py).

Data is written with the ORM alone; the triggers of migration 0002 keep the
day balances the ledger reports read. The tests run in one
transaction that is never committed, so the deferred balance check does not
fire: every entry here balances all the same.
"""

import datetime
import uuid
from decimal import Decimal

import pytest
from django.db import connections

from erp.db import alias as db_alias
from financeiro import reports
from financeiro.contract import InvalidLedgerInputError
from financeiro.models import (
    Account,
    FiscalPeriod,
    Invoice,
    JournalEntry,
    JournalLine,
    Payment,
    PaymentAllocation,
)

pytestmark = pytest.mark.django_db(databases="__all__")
D = Decimal
ZERO = D("0.00")


def alias() -> str:
    return db_alias("financeiro")


def post(day: datetime.date, *lines: tuple[str, str, str]) -> JournalEntry:
    """Post an entry of ``(account code, debit, credit)`` lines on ``day``."""
    assert sum(D(debit) - D(credit) for _, debit, credit in lines) == 0, "build balanced entries only"
    period, _ = FiscalPeriod.objects.using(alias()).get_or_create(year=day.year, month=day.month)
    entry = JournalEntry.objects.using(alias()).create(
        number=f"T-{uuid.uuid4().hex[:12]}", date=day, period=period, source="test"
    )
    accounts = {a.code: a for a in Account.objects.using(alias()).filter(code__in=[c for c, _, _ in lines])}
    JournalLine.objects.using(alias()).bulk_create(
        JournalLine(entry=entry, account=accounts[code], date=day, period=period, debit=debit, credit=credit)
        for code, debit, credit in lines
    )
    return entry


JAN_5, JAN_20, FEB_3, FEB_15, MAR_1, MAR_10 = (
    datetime.date(2026, 1, 5),
    datetime.date(2026, 1, 20),
    datetime.date(2026, 2, 3),
    datetime.date(2026, 2, 15),
    datetime.date(2026, 3, 1),
    datetime.date(2026, 3, 10),
)


@pytest.fixture
def ledger():
    """Three months of a small business, with odd cents and two entries on one day."""
    post(JAN_5, ("1000", "1000.00", "0"), ("3000", "0", "1000.00"))  # capital
    post(JAN_5, ("1200", "200.00", "0"), ("2000", "0", "200.00"))  # goods received
    post(JAN_20, ("1100", "110.10", "0"), ("4000", "0", "100.09"), ("2100", "0", "10.01"))  # sale
    post(FEB_3, ("5000", "60.07", "0"), ("1200", "0", "60.07"))  # its cost
    post(FEB_15, ("1010", "55.55", "0"), ("1100", "0", "55.55"))  # a payment
    post(FEB_15, ("2100", "10.01", "0"), ("1010", "0", "10.01"))  # taxes paid: payable back to zero
    post(MAR_1, ("1000", "33.33", "0"), ("4000", "0", "33.33"))  # cash sale
    post(MAR_10, ("5100", "12.34", "0"), ("1200", "0", "12.34"))  # stock count shortfall


def lines_by_account(date_to: datetime.date, date_from: datetime.date = datetime.date.min) -> dict:
    """account id -> (debit, credit) summed over the lines themselves."""
    with connections[alias()].cursor() as cursor:
        cursor.execute(
            "SELECT account_id, sum(debit), sum(credit) FROM financeiro_journalline"
            " WHERE date >= %s AND date <= %s GROUP BY account_id",
            [date_from, date_to],
        )
        return {account_id: (debit, credit) for account_id, debit, credit in cursor.fetchall()}


def natural_by_code(
    date_to: datetime.date, date_from: datetime.date = datetime.date.min
) -> dict[str, Decimal]:
    """account code -> amount on its type's natural side, from the lines."""
    types = {a.id: a for a in Account.objects.using(alias())}
    result = {}
    for account_id, (debit, credit) in lines_by_account(date_to, date_from).items():
        account = types[account_id]
        result[account.code] = debit - credit if account.type in ("asset", "expense") else credit - debit
    return result


AS_OF_DATES = [datetime.date(2025, 12, 31), JAN_5, FEB_3, FEB_15, datetime.date(2026, 12, 31)]


@pytest.mark.parametrize("as_of", AS_OF_DATES)
def test_trial_balance_equals_the_lines_up_to_the_date(ledger, as_of):
    report = reports.trial_balance(as_of=as_of)

    expected = lines_by_account(as_of)
    assert {row.account_id: (row.debit, row.credit) for row in report.rows} == expected
    assert all(row.balance == row.debit - row.credit for row in report.rows)
    assert [row.code for row in report.rows] == sorted(row.code for row in report.rows)
    assert report.total_debit == report.total_credit == sum((d for d, _ in expected.values()), ZERO)
    assert all(row.debit.as_tuple().exponent == -2 for row in report.rows)


def test_trial_balance_before_any_posting_is_empty(ledger):
    report = reports.trial_balance(as_of=datetime.date(2025, 12, 31))

    assert report.rows == ()
    assert report.total_debit == report.total_credit == ZERO


@pytest.mark.parametrize("as_of", AS_OF_DATES)
def test_balance_sheet_balances_and_carries_current_earnings(ledger, as_of):
    sheet = reports.balance_sheet(as_of=as_of)

    assert sheet.total_assets == sheet.total_liabilities + sheet.total_equity
    natural = natural_by_code(as_of)
    types = dict(Account.objects.using(alias()).values_list("code", "type"))
    income = sum((v for c, v in natural.items() if types[c] == "income"), ZERO)
    expenses = sum((v for c, v in natural.items() if types[c] == "expense"), ZERO)
    assert sheet.current_earnings == income - expenses
    assert sheet.total_equity == sum((line.amount for line in sheet.equity), ZERO) + sheet.current_earnings
    shown = {line.code: line.amount for line in (*sheet.assets, *sheet.liabilities, *sheet.equity)}
    assert shown == {
        code: amount
        for code, amount in natural.items()
        if types[code] in ("asset", "liability", "equity") and amount
    }


def test_balance_sheet_omits_accounts_that_net_to_zero(ledger):
    before = reports.balance_sheet(as_of=FEB_3)
    after = reports.balance_sheet(as_of=FEB_15)

    assert [(line.code, line.amount) for line in before.liabilities] == [
        ("2000", D("200.00")),
        ("2100", D("10.01")),
    ]
    assert [line.code for line in after.liabilities] == ["2000"]  # taxes paid
    assert after.current_earnings == D("100.09") - D("60.07")


def test_income_statement_covers_only_its_window(ledger):
    statement = reports.income_statement(date_from=FEB_3, date_to=MAR_1)

    natural = natural_by_code(MAR_1, FEB_3)
    assert {line.code: line.amount for line in (*statement.income, *statement.expenses)} == {
        code: amount for code, amount in natural.items() if code[0] in "45"
    }
    assert [(line.code, line.amount) for line in statement.income] == [("4000", D("33.33"))]
    assert [(line.code, line.amount) for line in statement.expenses] == [("5000", D("60.07"))]
    assert statement.total_income == D("33.33")
    assert statement.total_expenses == D("60.07")
    assert statement.net == D("-26.74")


def test_income_statement_over_one_day_includes_both_ends(ledger):
    statement = reports.income_statement(date_from=MAR_10, date_to=MAR_10)

    assert statement.income == ()
    assert statement.net == D("-12.34")


def test_income_statement_refuses_a_window_that_ends_before_it_starts():
    with pytest.raises(InvalidLedgerInputError) as raised:
        reports.income_statement(date_from=MAR_10, date_to=MAR_1)

    assert [error.field for error in raised.value.errors] == ["date_from"]


# --- Receivables aging -----------------------------------------------------------

AS_OF = datetime.date(2026, 6, 30)


def invoice(name: str, total: str, *, due: datetime.date, issued: datetime.date | None = None, **fields):
    """An invoice with its Dr receivables / Cr revenue entry."""
    issued = issued or min(due, AS_OF)
    entry = post(issued, ("1100", total, "0"), ("4000", "0", total))
    return Invoice.objects.using(alias()).create(
        number=f"INV-{uuid.uuid4().hex[:10]}",
        customer_id=fields.pop("customer_id", uuid.uuid5(uuid.NAMESPACE_OID, name)),
        customer_name=name,
        issue_date=issued,
        due_date=due,
        subtotal=total,
        tax_total=0,
        total=total,
        entry=entry,
        **fields,
    )


def pay(invoice_: Invoice, amount: str, day: datetime.date) -> None:
    entry = post(day, ("1010", amount, "0"), ("1100", "0", amount))
    payment = Payment.objects.using(alias()).create(
        customer_id=invoice_.customer_id, date=day, amount=amount, entry=entry
    )
    PaymentAllocation.objects.using(alias()).create(payment=payment, invoice=invoice_, amount=amount)


def buckets(row) -> dict[str, Decimal]:
    names = ("current", "days_1_30", "days_31_60", "days_61_90", "over_90")
    return {name: getattr(row, name) for name in names if getattr(row, name)}


EDGES = [(0, "current"), (1, "days_1_30"), (30, "days_1_30"), (31, "days_31_60"), (60, "days_31_60")]
EDGES += [(61, "days_61_90"), (90, "days_61_90"), (91, "over_90")]


def test_aging_buckets_by_days_past_due():
    for days, _ in EDGES:
        invoice(f"Overdue {days:03d}", f"{100 + days}.25", due=AS_OF - datetime.timedelta(days=days))
    invoice("Not yet due", "7.00", due=AS_OF + datetime.timedelta(days=15), issued=AS_OF)

    aging = reports.ar_aging(as_of=AS_OF)

    not_yet_due, *overdue = aging.rows  # by customer name
    assert not_yet_due.customer_name == "Not yet due"
    assert buckets(not_yet_due) == {"current": D("7.00")}
    assert [row.customer_name for row in overdue] == [f"Overdue {days:03d}" for days, _ in EDGES]
    for row, (days, bucket) in zip(overdue, EDGES, strict=True):
        assert buckets(row) == {bucket: D(f"{100 + days}.25")}, row.customer_name
        assert row.total == D(f"{100 + days}.25")
    assert aging.current == D("107.25")
    assert aging.days_1_30 == D("101.25") + D("130.25")
    assert aging.over_90 == D("191.25")
    assert aging.total == sum((row.total for row in aging.rows), ZERO)
    assert (
        aging.total == aging.current + aging.days_1_30 + aging.days_31_60 + aging.days_61_90 + aging.over_90
    )


def test_aging_counts_only_payments_dated_up_to_the_date():
    owed = invoice("Partly paid", "100.00", due=AS_OF - datetime.timedelta(days=10))
    pay(owed, "30.00", AS_OF)  # on the date: counts
    pay(owed, "40.00", AS_OF + datetime.timedelta(days=1))  # after it: does not, yet
    paid = invoice("Paid up", "50.00", due=AS_OF - datetime.timedelta(days=40))
    pay(paid, "50.00", AS_OF - datetime.timedelta(days=1))
    invoice("Voided", "80.00", due=AS_OF - datetime.timedelta(days=5), status=Invoice.Status.VOID)
    invoice(
        "Issued later",
        "60.00",
        due=AS_OF + datetime.timedelta(days=30),
        issued=AS_OF + datetime.timedelta(days=1),
    )

    aging = reports.ar_aging(as_of=AS_OF)
    later = reports.ar_aging(as_of=AS_OF + datetime.timedelta(days=1))

    assert [(row.customer_name, buckets(row)) for row in aging.rows] == [
        ("Partly paid", {"days_1_30": D("70.00")})
    ]
    assert aging.total == D("70.00")
    assert [(row.customer_name, row.total) for row in later.rows] == [
        ("Issued later", D("60.00")),
        ("Partly paid", D("30.00")),
    ]


def test_aging_sums_a_customers_invoices_into_one_row():
    customer = uuid.uuid4()
    invoice("Acme", "10.00", due=AS_OF, customer_id=customer)
    invoice("Acme", "20.00", due=AS_OF - datetime.timedelta(days=100), customer_id=customer)
    invoice(
        "Acme", "5.50", due=AS_OF - datetime.timedelta(days=100), customer_id=uuid.uuid4()
    )  # another Acme

    aging = reports.ar_aging(as_of=AS_OF)

    mine = [row for row in aging.rows if row.customer_id == customer]
    assert len(aging.rows) == 2
    assert [(buckets(row), row.total) for row in mine] == [
        ({"current": D("10.00"), "over_90": D("20.00")}, D("30.00"))
    ]
