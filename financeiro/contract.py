"""Public surface of ``financeiro``: the ``LedgerService`` Protocol, the frozen
dataclasses it takes and returns, and its domain errors. Imports nothing else of
the app, no framework, and only ``erp.errors`` of the kernel, so a remote proxy
can implement it where financeiro is not installed.

Money is a Decimal with 2 places. An entry's lines each have one positive side
(debit or credit); a report's ``balance`` is debit − credit, and the statements
show amounts on each type's natural side (assets and expenses as debit − credit,
liabilities, equity and income as credit − debit).

Postings are idempotent by ``(source, source_ref)``: a repeat with the same
lines returns the first entry; the same reference with other lines raises
SourceConflictError. Invoices are idempotent by ``order_id``. Posted entries are
immutable; a correction is ``reverse_entry``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol
from uuid import UUID

from erp.errors import ConflictError, DomainError, InvalidError, NotFoundError

# --- What callers send --------------------------------------------------------


@dataclass(frozen=True)
class EntryLineInput:
    account_id: UUID
    debit: Decimal = Decimal("0")
    credit: Decimal = Decimal("0")
    description: str = ""


@dataclass(frozen=True)
class CustomerSnapshot:
    """Whom an invoice is issued to, as the seller knew them at the time."""

    id: UUID
    name: str
    code: str = ""
    tax_id: str = ""


@dataclass(frozen=True)
class InvoiceLineInput:
    """One line; financeiro computes its amounts, each rounded ROUND_HALF_UP to
    the cent: gross = quantity × unit_price, discount = gross × discount_percent
    / 100, subtotal = gross − discount, tax = subtotal × tax_rate / 100."""

    quantity: Decimal
    unit_price: Decimal
    description: str = ""
    product_id: UUID | None = None
    sku: str = ""
    discount_percent: Decimal = Decimal("0")
    tax_rate: Decimal = Decimal("0")  # percent


@dataclass(frozen=True)
class AllocationInput:
    invoice_id: UUID
    amount: Decimal


# --- What financeiro answers --------------------------------------------------


@dataclass(frozen=True)
class AccountInfo:
    id: UUID
    code: str
    name: str
    type: str  # asset | liability | equity | income | expense
    parent_id: UUID | None
    is_active: bool


@dataclass(frozen=True)
class PostedLine:
    account_id: UUID
    account_code: str
    debit: Decimal
    credit: Decimal
    description: str


@dataclass(frozen=True)
class Entry:
    id: UUID
    number: str
    date: date
    period: str  # "2026-03"
    memo: str
    source: str
    source_ref: str
    reverses_id: UUID | None
    lines: tuple[PostedLine, ...]
    created_by: UUID | None
    posted_at: datetime


@dataclass(frozen=True)
class InvoiceLineInfo:
    product_id: UUID | None
    sku: str
    description: str
    quantity: Decimal
    unit_price: Decimal
    discount_percent: Decimal
    tax_rate: Decimal
    discount: Decimal
    subtotal: Decimal
    tax: Decimal
    total: Decimal


@dataclass(frozen=True)
class InvoiceInfo:
    id: UUID
    number: str
    customer_id: UUID
    customer_name: str
    order_id: UUID | None
    issue_date: date
    due_date: date
    subtotal: Decimal
    discount_total: Decimal
    tax_total: Decimal
    total: Decimal
    amount_paid: Decimal
    balance: Decimal
    status: str  # open | partially_paid | paid | void
    entry_id: UUID
    lines: tuple[InvoiceLineInfo, ...]


@dataclass(frozen=True)
class AllocationInfo:
    invoice_id: UUID
    invoice_number: str
    amount: Decimal


@dataclass(frozen=True)
class PaymentInfo:
    id: UUID
    customer_id: UUID
    date: date
    amount: Decimal
    method: str  # cash | bank_transfer | card | check
    reference: str
    allocations: tuple[AllocationInfo, ...]
    unallocated: Decimal
    entry_id: UUID


@dataclass(frozen=True)
class PeriodInfo:
    id: UUID
    year: int
    month: int
    status: str  # open | closing | closed
    workflow: UUID | None
    closed_at: datetime | None
    closed_by: UUID | None


@dataclass(frozen=True)
class TrialBalanceRow:
    account_id: UUID
    code: str
    name: str
    type: str
    debit: Decimal
    credit: Decimal
    balance: Decimal  # debit − credit


@dataclass(frozen=True)
class TrialBalance:
    as_of: date
    rows: tuple[TrialBalanceRow, ...]  # accounts with postings, by code
    total_debit: Decimal
    total_credit: Decimal


@dataclass(frozen=True)
class StatementLine:
    account_id: UUID
    code: str
    name: str
    amount: Decimal  # on the type's natural side


@dataclass(frozen=True)
class BalanceSheet:
    as_of: date
    assets: tuple[StatementLine, ...]
    liabilities: tuple[StatementLine, ...]
    equity: tuple[StatementLine, ...]
    current_earnings: Decimal  # income − expenses not yet closed into equity
    total_assets: Decimal
    total_liabilities: Decimal
    total_equity: Decimal  # equity accounts + current earnings


@dataclass(frozen=True)
class IncomeStatement:
    date_from: date
    date_to: date
    income: tuple[StatementLine, ...]
    expenses: tuple[StatementLine, ...]
    total_income: Decimal
    total_expenses: Decimal
    net: Decimal


@dataclass(frozen=True)
class AgingRow:
    customer_id: UUID
    customer_name: str
    current: Decimal  # not yet due
    days_1_30: Decimal
    days_31_60: Decimal
    days_61_90: Decimal
    over_90: Decimal
    total: Decimal


@dataclass(frozen=True)
class ArAging:
    as_of: date
    rows: tuple[AgingRow, ...]  # customers owing something, by name
    current: Decimal
    days_1_30: Decimal
    days_31_60: Decimal
    days_61_90: Decimal
    over_90: Decimal
    total: Decimal


# --- Errors (the API maps each base once: 400, 404, 409) ----------------------


class LedgerError(DomainError):
    code = "ledger_error"


class InvalidLedgerInputError(LedgerError, InvalidError):
    """Bad input: each FieldError names the field (``lines.1.debit``)."""

    code = "invalid"


class UnbalancedEntryError(InvalidLedgerInputError):
    """``extra["difference"]``: debits − credits, as a string."""

    code = "unbalanced"
    default_message = "The entry does not balance."


class OverAllocationError(InvalidLedgerInputError):
    code = "over_allocation"
    default_message = "More is allocated than the payment or an invoice's balance."


class InvoiceMismatchError(LedgerError, ConflictError):
    """An order's totals differ from what its lines invoice at under
    financeiro's rounding: no invoice that disagrees with its order."""

    code = "invoice_mismatch"


class PeriodClosedError(LedgerError, ConflictError):
    code = "period_closed"
    default_message = "The period is closed: nothing posts into it."


class PeriodNotClosableError(LedgerError, ConflictError):
    code = "period_not_closable"
    default_message = "The period cannot be closed now."


class AlreadyReversedError(LedgerError, ConflictError):
    code = "already_reversed"
    default_message = "The entry has already been reversed."


class SourceConflictError(LedgerError, ConflictError):
    code = "source_conflict"
    default_message = "This source reference was already posted with other lines."


class AccountInUseError(LedgerError, ConflictError):
    code = "account_in_use"
    default_message = "The account has postings: deactivate it instead."


class AccountNotFoundError(LedgerError, NotFoundError):
    code = "account_not_found"
    default_message = "Account not found."


class EntryNotFoundError(LedgerError, NotFoundError):
    code = "entry_not_found"
    default_message = "Journal entry not found."


class InvoiceNotFoundError(LedgerError, NotFoundError):
    code = "invoice_not_found"
    default_message = "Invoice not found."


class PeriodNotFoundError(LedgerError, NotFoundError):
    code = "period_not_found"
    default_message = "Fiscal period not found."


# --- The service ----------------------------------------------------------------


class LedgerService(Protocol):
    def accounts(self) -> list[AccountInfo]:
        """The chart of accounts, by code."""
        ...

    def post_entry(
        self,
        *,
        date: date,
        lines: Sequence[EntryLineInput],
        memo: str = "",
        source: str = "manual",
        source_ref: str = "",
        actor_id: UUID | None = None,
    ) -> Entry:
        """Post a balanced entry of at least two lines on active accounts into
        an open period (created on demand)."""
        ...

    def reverse_entry(
        self, *, entry_id: UUID, date: date | None = None, memo: str = "", actor_id: UUID | None = None
    ) -> Entry:
        """Post the mirror entry (on ``date``, default the original's)."""
        ...

    def entry(self, *, entry_id: UUID) -> Entry: ...

    def issue_invoice(
        self,
        *,
        customer: CustomerSnapshot,
        issue_date: date,
        due_date: date,
        lines: Sequence[InvoiceLineInput],
        order_id: UUID | None = None,
        order_number: str = "",
        currency: str = "",
        actor_id: UUID | None = None,
    ) -> InvoiceInfo:
        """Issue and post an invoice (Dr receivables / Cr revenue, Cr taxes
        payable); once per ``order_id``."""
        ...

    def invoice(self, *, invoice_id: UUID) -> InvoiceInfo: ...

    def record_payment(
        self,
        *,
        customer_id: UUID,
        date: date,
        amount: Decimal,
        method: str = "bank_transfer",
        allocations: Sequence[AllocationInput] = (),
        reference: str = "",
        actor_id: UUID | None = None,
    ) -> PaymentInfo:
        """Record and post a payment (Dr cash or bank / Cr receivables),
        allocated to the customer's invoices; what is not allocated stays a
        credit of the customer's."""
        ...

    def receivable_balance(self, *, customer_id: UUID) -> Decimal:
        """What the customer owes: open invoice balances less unallocated payments."""
        ...

    def periods(self) -> list[PeriodInfo]: ...

    def close_period(self, *, year: int, month: int, actor_id: UUID | None = None) -> PeriodInfo:
        """Close the month: nothing posts into it afterwards."""
        ...

    def trial_balance(self, *, as_of: date) -> TrialBalance: ...

    def balance_sheet(self, *, as_of: date) -> BalanceSheet: ...

    def income_statement(self, *, date_from: date, date_to: date) -> IncomeStatement: ...

    def ar_aging(self, *, as_of: date) -> ArAging: ...
