"""Do the books agree with themselves and with the stock? The checks behind
``manage.py ledger_check`` (and the guard of ``manage.py close_period``).

The database already refuses most corruption (migration 0002); these checks
re-derive every running total from what it totals, for a database restored
without its triggers, a bad migration, or a script that went around the
services. Each check is one SQL statement that aggregates both sides with
GROUP BY and returns only the rows that disagree: a consistent snapshot even
while postings go on, a few scans whatever the size of the books, never a
query per row.

What each check guarantees when it finds nothing:

(a) **Entries** (``entry_*``): every journal entry has at least two lines, its
    debits equal its credits, and its lines carry its date and period (the
    reports read the lines, never the entry header).
(b) **Day balances** (``account_*``, ``day_*``): ``AccountDayBalance`` summed
    over its shards equals a plain GROUP BY over the posted lines, per account
    over all days (what a trial balance reads) and per account and day (where
    to look when it does not).
(c) **Invoices** (``invoice_*``): ``amount_paid`` is the sum of the invoice's
    allocations; its status follows from its balance (open with nothing paid,
    paid with nothing left, partially paid in between; void invoices keep
    theirs); ``total = subtotal + tax_total`` and subtotal, tax and total equal
    the sums of its lines; its journal entry debits receivables by its total.
(d) **Payments** (``payment_*``): what a payment allocates never exceeds its
    amount, and its journal entry credits receivables by that amount.
(e) **Stock** (``inventory_stock_value``): the inventory account's balance
    (debit − credit over all its lines) equals estoque's running stock value,
    to the cent. The two sides are read one after the other, from two apps
    (maybe two databases): a receipt whose posting is still on its way (an
    event) shows as a difference until it arrives, so re-run a failing check
    before acting on it.

Receivables and inventory are the accounts configured today (PostingAccount):
after re-pointing a purpose at another account, postings made under the old
one show as differences.

Portable SQL, as in estoque/reconciliation.py: on SQLite (the quick start,
decimals as floats) two sums differ when they are half a cent apart or more;
on PostgreSQL that is the same as being unequal.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db import connections
from django.utils.translation import gettext_lazy as _

from erp.db import alias
from financeiro import interfaces
from financeiro.models import (
    Account,
    AccountDayBalance,
    Invoice,
    InvoiceLine,
    JournalEntry,
    JournalLine,
    Payment,
    PaymentAllocation,
    PostingAccount,
)

APP = "financeiro"
MONEY = Decimal("0.01")
ZERO = Decimal("0.00")

ENTRY_LINES = "entry_lines"
ENTRY_BALANCE = "entry_balance"
ENTRY_LINE_COPIES = "entry_line_copies"
ACCOUNT_DEBITS = "account_debits"
ACCOUNT_CREDITS = "account_credits"
DAY_DEBITS = "day_debits"
DAY_CREDITS = "day_credits"
INVOICE_PAID = "invoice_paid"
INVOICE_STATUS = "invoice_status"
INVOICE_TOTAL = "invoice_total"
INVOICE_LINES_SUBTOTAL = "invoice_lines_subtotal"
INVOICE_LINES_TAX = "invoice_lines_tax"
INVOICE_LINES_TOTAL = "invoice_lines_total"
INVOICE_POSTED = "invoice_posted"
PAYMENT_ALLOCATED = "payment_allocated"
PAYMENT_POSTED = "payment_posted"
INVENTORY_STOCK_VALUE = "inventory_stock_value"

DESCRIPTIONS = {
    ENTRY_LINES: _("lines of the entry (at least 2)"),
    ENTRY_BALANCE: _("credits of the entry vs its debits"),
    ENTRY_LINE_COPIES: _("lines not carrying the entry's date and period"),
    ACCOUNT_DEBITS: _("debits of the day balances vs the sum of the posted lines"),
    ACCOUNT_CREDITS: _("credits of the day balances vs the sum of the posted lines"),
    DAY_DEBITS: _("debits of the day balance vs the sum of the day's posted lines"),
    DAY_CREDITS: _("credits of the day balance vs the sum of the day's posted lines"),
    INVOICE_PAID: _("amount paid vs the sum of its allocations"),
    INVOICE_STATUS: _("status vs what its balance says"),
    INVOICE_TOTAL: _("total vs subtotal + tax total"),
    INVOICE_LINES_SUBTOTAL: _("subtotal vs the sum of its lines' subtotals"),
    INVOICE_LINES_TAX: _("tax total vs the sum of its lines' taxes"),
    INVOICE_LINES_TOTAL: _("total vs the sum of its lines' totals"),
    INVOICE_POSTED: _("receivables debit of its journal entry vs its total"),
    PAYMENT_ALLOCATED: _("allocations vs the payment's amount (at most)"),
    PAYMENT_POSTED: _("receivables credit of its journal entry vs its amount"),
    INVENTORY_STOCK_VALUE: _("inventory account balance vs estoque's stock value"),
}


@dataclass(frozen=True)
class Difference:
    """One figure that disagrees with what it should equal.

    ``subject`` names the row (an entry or invoice number, an account code and
    maybe a day, a payment id); ``expected`` is what the underlying rows add up
    to (or the limit), ``actual`` what the books hold."""

    subject: str
    check: str
    expected: Decimal | int | str
    actual: Decimal | int | str

    @property
    def description(self) -> str:
        return str(DESCRIPTIONS[self.check])

    def __str__(self) -> str:
        return _("%(subject)s: %(what)s: expected %(expected)s, actual %(actual)s") % {
            "subject": self.subject,
            "what": self.description,
            "expected": self.expected,
            "actual": self.actual,
        }


@dataclass(frozen=True)
class Totals:
    """What a clean check covered (for its summary line)."""

    entries: int
    lines: int
    invoices: int
    payments: int


def ledger_differences(*, include_stock: bool = True) -> list[Difference]:
    """Every difference the checks find, check by check (a to e), each in the
    order of its rows. ``include_stock=False`` skips (e), which asks estoque."""
    differences = [
        *_entry_differences(),
        *_balance_differences(by_day=False),
        *_balance_differences(by_day=True),
        *_invoice_differences(),
        *_payment_differences(),
    ]
    if include_stock:
        differences += _inventory_differences()
    return differences


def totals() -> Totals:
    db = alias(APP)
    return Totals(
        entries=JournalEntry.objects.using(db).count(),
        lines=JournalLine.objects.using(db).count(),
        invoices=Invoice.objects.using(db).count(),
        payments=Payment.objects.using(db).count(),
    )


# --- The statements ----------------------------------------------------------------

TABLES = {
    "account": Account._meta.db_table,
    "entry": JournalEntry._meta.db_table,
    "line": JournalLine._meta.db_table,
    "balance": AccountDayBalance._meta.db_table,
    "purpose": PostingAccount._meta.db_table,
    "invoice": Invoice._meta.db_table,
    "invoice_line": InvoiceLine._meta.db_table,
    "payment": Payment._meta.db_table,
    "allocation": PaymentAllocation._meta.db_table,
    # Half a cent, written into the SQL: a bound parameter reaches SQLite as
    # text, which never compares as a number.
    "m": str(MONEY / 2),
}

# (a) LEFT JOIN: an entry without any line shows up too.
ENTRIES_SQL = """
SELECT e.number, COUNT(l.id), COALESCE(SUM(l.debit), 0), COALESCE(SUM(l.credit), 0),
       COALESCE(SUM(CASE WHEN l.date <> e.date OR l.period_id <> e.period_id THEN 1 ELSE 0 END), 0)
FROM {entry} e LEFT JOIN {line} l ON l.entry_id = e.id
GROUP BY e.id, e.number
HAVING COUNT(l.id) < 2
    OR ABS(COALESCE(SUM(l.debit), 0) - COALESCE(SUM(l.credit), 0)) >= {m}
    OR COALESCE(SUM(CASE WHEN l.date <> e.date OR l.period_id <> e.period_id THEN 1 ELSE 0 END), 0) > 0
ORDER BY e.number
"""

# (b) UNION ALL rather than a join, so an account (or day) that has lines but no
# balance row, or a balance row but no lines, shows up too.
BALANCES_SQL = """
SELECT a.code, {day_column} sides.line_debit, sides.line_credit, sides.debit, sides.credit
FROM (
    SELECT account_id{day_key},
           SUM(line_debit) AS line_debit, SUM(line_credit) AS line_credit,
           SUM(debit) AS debit, SUM(credit) AS credit
    FROM (
        SELECT account_id, date AS day, debit AS line_debit, credit AS line_credit, 0 AS debit, 0 AS credit
        FROM {line} WHERE posted
        UNION ALL
        SELECT account_id, day, 0, 0, debit, credit FROM {balance}
    ) AS sided
    GROUP BY account_id{day_key}
    HAVING ABS(SUM(line_debit) - SUM(debit)) >= {m} OR ABS(SUM(line_credit) - SUM(credit)) >= {m}
) AS sides
JOIN {account} a ON a.id = sides.account_id
ORDER BY a.code{day_key}
"""

# (c) Each side summed per invoice in a derived table, then compared row by row.
INVOICES_SQL = """
SELECT i.number, i.status, i.subtotal, i.tax_total, i.total, i.amount_paid,
       COALESCE(allocated.amount, 0), COALESCE(lines.subtotal, 0), COALESCE(lines.tax, 0),
       COALESCE(lines.total, 0), COALESCE(posted.debit, 0), {status_by_balance}
FROM {invoice} i
LEFT JOIN (
    SELECT invoice_id, SUM(amount) AS amount FROM {allocation} GROUP BY invoice_id
) AS allocated ON allocated.invoice_id = i.id
LEFT JOIN (
    SELECT invoice_id, SUM(subtotal) AS subtotal, SUM(tax) AS tax, SUM(total) AS total
    FROM {invoice_line} GROUP BY invoice_id
) AS lines ON lines.invoice_id = i.id
LEFT JOIN (
    SELECT l.entry_id, SUM(l.debit) AS debit
    FROM {line} l JOIN {invoice} posting ON posting.entry_id = l.entry_id
    WHERE l.account_id = (SELECT account_id FROM {purpose} WHERE purpose = 'receivables')
    GROUP BY l.entry_id
) AS posted ON posted.entry_id = i.entry_id
WHERE ABS(i.amount_paid - COALESCE(allocated.amount, 0)) >= {m}
   OR (i.status <> 'void' AND i.status <> {status_by_balance})
   OR ABS(i.total - i.subtotal - i.tax_total) >= {m}
   OR ABS(i.subtotal - COALESCE(lines.subtotal, 0)) >= {m}
   OR ABS(i.tax_total - COALESCE(lines.tax, 0)) >= {m}
   OR ABS(i.total - COALESCE(lines.total, 0)) >= {m}
   OR ABS(i.total - COALESCE(posted.debit, 0)) >= {m}
ORDER BY i.number
"""
STATUS_BY_BALANCE = (
    "(CASE WHEN i.amount_paid = 0 THEN 'open' WHEN i.amount_paid >= i.total THEN 'paid' "
    "ELSE 'partially_paid' END)"
)

# (d)
PAYMENTS_SQL = """
SELECT p.id, p.amount, COALESCE(allocated.amount, 0), COALESCE(posted.credit, 0)
FROM {payment} p
LEFT JOIN (
    SELECT payment_id, SUM(amount) AS amount FROM {allocation} GROUP BY payment_id
) AS allocated ON allocated.payment_id = p.id
LEFT JOIN (
    SELECT l.entry_id, SUM(l.credit) AS credit
    FROM {line} l JOIN {payment} posting ON posting.entry_id = l.entry_id
    WHERE l.account_id = (SELECT account_id FROM {purpose} WHERE purpose = 'receivables')
    GROUP BY l.entry_id
) AS posted ON posted.entry_id = p.entry_id
WHERE COALESCE(allocated.amount, 0) - p.amount >= {m}
   OR ABS(p.amount - COALESCE(posted.credit, 0)) >= {m}
ORDER BY p.date, p.id
"""

# (e) No row when no inventory account is configured.
INVENTORY_SQL = """
SELECT a.code, COALESCE(SUM(l.debit), 0) - COALESCE(SUM(l.credit), 0)
FROM {purpose} pa
JOIN {account} a ON a.id = pa.account_id
LEFT JOIN {line} l ON l.account_id = a.id
WHERE pa.purpose = 'inventory'
GROUP BY a.code
"""


def _rows(sql: str, **placeholders: str) -> list[tuple]:
    with connections[alias(APP)].cursor() as cursor:
        cursor.execute(sql.format(**TABLES, **placeholders))
        return cursor.fetchall()


def _money(value) -> Decimal:
    # str() first: SQLite answers floats, whose repr rounds back to the stored decimal.
    return Decimal(str(value if value is not None else 0)).quantize(MONEY)


def _differing(subject: str, checks: Iterable[tuple[str, object, object]]) -> list[Difference]:
    """The (check, expected, actual) triples of a row that actually differ
    (money is compared to the cent, anything else as it is)."""
    differences = []
    for check, expected, actual in checks:
        if not isinstance(expected, (str, int)):
            expected, actual = _money(expected), _money(actual)
        if expected != actual:
            differences.append(Difference(subject=subject, check=check, expected=expected, actual=actual))
    return differences


def _entry_differences() -> list[Difference]:
    differences = []
    for number, lines, debit, credit, copies_off in _rows(ENTRIES_SQL):
        if lines < 2:
            differences.append(Difference(subject=number, check=ENTRY_LINES, expected=2, actual=lines))
        differences += _differing(
            number, [(ENTRY_BALANCE, debit, credit), (ENTRY_LINE_COPIES, 0, copies_off)]
        )
    return differences


def _balance_differences(*, by_day: bool) -> list[Difference]:
    placeholders = (
        {"day_column": "sides.day,", "day_key": ", day"} if by_day else {"day_column": "", "day_key": ""}
    )
    debits, credits = (DAY_DEBITS, DAY_CREDITS) if by_day else (ACCOUNT_DEBITS, ACCOUNT_CREDITS)
    differences = []
    for row in _rows(BALANCES_SQL, **placeholders):
        code, *sums = row
        day = sums.pop(0) if by_day else None
        line_debit, line_credit, debit, credit = sums
        subject = _("account %(code)s") % {"code": code}
        if by_day:
            subject = _("account %(code)s on %(day)s") % {"code": code, "day": day}
        differences += _differing(subject, [(debits, line_debit, debit), (credits, line_credit, credit)])
    return differences


def _invoice_differences() -> list[Difference]:
    differences = []
    for row in _rows(INVOICES_SQL, status_by_balance=STATUS_BY_BALANCE):
        (number, status, subtotal, tax_total, total, paid, allocated) = row[:7]
        (lines_subtotal, lines_tax, lines_total, posted_debit, status_by_balance) = row[7:]
        checks: list[tuple[str, object, object]] = [(INVOICE_PAID, allocated, paid)]
        if status != Invoice.Status.VOID:
            checks.append((INVOICE_STATUS, status_by_balance, status))
        checks += [
            (INVOICE_TOTAL, _money(subtotal) + _money(tax_total), total),
            (INVOICE_LINES_SUBTOTAL, lines_subtotal, subtotal),
            (INVOICE_LINES_TAX, lines_tax, tax_total),
            (INVOICE_LINES_TOTAL, lines_total, total),
            (INVOICE_POSTED, total, posted_debit),
        ]
        differences += _differing(_("invoice %(number)s") % {"number": number}, checks)
    return differences


def _payment_differences() -> list[Difference]:
    differences = []
    for payment_id, amount, allocated, posted_credit in _rows(PAYMENTS_SQL):
        subject = _("payment %(id)s") % {"id": payment_id}
        if _money(allocated) > _money(amount):
            differences.append(
                Difference(
                    subject=subject,
                    check=PAYMENT_ALLOCATED,
                    expected=_money(amount),
                    actual=_money(allocated),
                )
            )
        differences += _differing(subject, [(PAYMENT_POSTED, amount, posted_credit)])
    return differences


def _inventory_differences() -> list[Difference]:
    found = _rows(INVENTORY_SQL)
    code, balance = found[0] if found else (None, ZERO)
    subject = (
        _("account %(code)s (inventory)") % {"code": code}
        if code is not None
        else _("inventory account (none configured)")
    )
    return _differing(subject, [(INVENTORY_STOCK_VALUE, interfaces.stock_value(), balance)])
