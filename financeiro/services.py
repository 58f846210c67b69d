"""financeiro's services: the LedgerService contract in-process, plus the
writes this app's views, admin, commands and subscribers make.

Each command runs in one transaction on financeiro's database (``atomic(APP)``)
and publishes its events there. What keeps the books right and posting fast:

* **The database has the last word.** Balance (at commit), the open period and
  immutability are triggers (migration 0002); the checks here exist to answer
  a clear 400/409 before the database would refuse.
* **Nothing every posting queues on.** Entry numbers come from a sequence; the
  day balances a posting adds to are spread over shards (``BALANCE_SHARDS``), so
  concurrent postings to cash rarely meet on a row. Only invoices take a
  counter lock, for gap-free numbers.
* **One insert per posting** on PostgreSQL: the entry and its lines in one
  statement (``_INSERT_ENTRY_SQL``); the triggers maintain the day balances.
* **Idempotent by source.** Automatic postings carry ``(source, source_ref)``,
  unique in the database: a repeat returns the first entry.
"""

from __future__ import annotations

import calendar
import datetime
import logging
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from uuid import UUID

import psycopg
from django.db import IntegrityError, connections
from django.db.models import F, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from erp import inputs
from erp.db import alias, atomic
from erp.errors import FieldError
from erp.events import publish
from erp.money import line_amounts, money
from financeiro import chart, events, reports
from financeiro.contract import (
    AccountInfo,
    AccountInUseError,
    AllocationInfo,
    AllocationInput,
    AlreadyReversedError,
    ArAging,
    BalanceSheet,
    CustomerSnapshot,
    Entry,
    EntryLineInput,
    EntryNotFoundError,
    IncomeStatement,
    InvalidLedgerInputError,
    InvoiceInfo,
    InvoiceLineInfo,
    InvoiceLineInput,
    InvoiceMismatchError,
    InvoiceNotFoundError,
    LedgerError,
    LedgerService,
    OverAllocationError,
    PaymentInfo,
    PeriodClosedError,
    PeriodInfo,
    PeriodNotClosableError,
    PeriodNotFoundError,
    PostedLine,
    SourceConflictError,
    TrialBalance,
    UnbalancedEntryError,
)
from financeiro.models import (
    Account,
    AccountDayBalance,
    FiscalPeriod,
    Invoice,
    InvoiceCounter,
    InvoiceLine,
    JournalEntry,
    JournalLine,
    Payment,
    PaymentAllocation,
    PendingInvoice,
    PostingAccount,
)

APP = "financeiro"
Purpose = PostingAccount.Purpose
MONEY = Decimal("0.01")
ZERO = Decimal("0.00")
MAX_MONEY = Decimal("9999999999999999.99")  # 18 digits, 2 places: what the columns hold
MAX_QUANTITY = Decimal("999999999999999.999")
MAX_UNIT_PRICE = Decimal("99999999999999.9999")
MAX_PERCENT = Decimal("100.00")
MAX_LINES = 1000
MAX_MEMO = 500
MAX_SOURCE = 40
MAX_SOURCE_REF = 200

log = logging.getLogger(__name__)


def _db() -> str:
    return alias(APP)


_money = money


# --- Input checks (every command refuses bad input before touching a row) -----


def _invalid(field: str | None, code: str, message: str) -> InvalidLedgerInputError:
    return inputs.invalid(InvalidLedgerInputError, field, code, message)


def _text(value: Any, field: str, *, max_length: int, required: bool = False) -> str:
    return inputs.text(value, field, max_length=max_length, required=required, error=InvalidLedgerInputError)


def _amount(value: Any, field: str, *, positive: bool = False) -> Decimal:
    return inputs.decimal(
        value, field, places=MONEY, maximum=MAX_MONEY, positive=positive, error=InvalidLedgerInputError
    )


def _uuid(value: Any, field: str) -> UUID:
    return inputs.uuid(value, field, error=InvalidLedgerInputError)


def _date(value: Any, field: str) -> datetime.date:
    return inputs.date(value, field, error=InvalidLedgerInputError)


def _sequence(value: Any, field: str, *, required: bool) -> Sequence:
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise _invalid(field, "invalid", _("A list is required."))
    if required and not value:
        raise _invalid(field, "required", _("At least one line is required."))
    if len(value) > MAX_LINES:
        raise _invalid(field, "max_length", _("At most %(n)d lines.") % {"n": MAX_LINES})
    return value


def _entry_line(line: Any, where: str) -> EntryLineInput:
    debit = _amount(getattr(line, "debit", ZERO), f"{where}.debit")
    credit = _amount(getattr(line, "credit", ZERO), f"{where}.credit")
    if (debit > 0) == (credit > 0):
        raise _invalid(
            f"{where}.debit",
            "one_side",
            _("A line has a positive debit or a positive credit, not both and not neither."),
        )
    return EntryLineInput(
        account_id=_uuid(getattr(line, "account_id", None), f"{where}.account"),
        debit=debit,
        credit=credit,
        description=_text(getattr(line, "description", ""), f"{where}.description", max_length=MAX_MEMO),
    )


def _entry_lines(lines: Any) -> list[EntryLineInput]:
    checked = [
        _entry_line(line, f"lines.{i}") for i, line in enumerate(_sequence(lines, "lines", required=True))
    ]
    if len(checked) < 2:
        raise _invalid("lines", "min_length", _("An entry has at least two lines."))
    difference = sum((line.debit - line.credit for line in checked), ZERO)
    if difference:
        raise UnbalancedEntryError(
            _("The entry does not balance: debits exceed credits by %(difference)s.")
            % {"difference": difference},
            errors=[
                FieldError(
                    field="lines",
                    code="unbalanced",
                    message=_("Debits − credits = %(difference)s; they must be equal.")
                    % {"difference": difference},
                )
            ],
            extra={"difference": str(difference)},
        )
    return checked


# --- Accounts and periods ---------------------------------------------------------


def chart_install() -> None:
    """Create the default chart's missing accounts and posting purposes."""
    with atomic(APP):
        chart.install(Account, PostingAccount, _db())


def account_info(account: Account) -> AccountInfo:
    return AccountInfo(
        id=account.id,
        code=account.code,
        name=account.name,
        type=account.type,
        parent_id=account.parent_id,
        is_active=account.is_active,
    )


def accounts() -> list[AccountInfo]:
    return [account_info(a) for a in Account.objects.using(_db()).order_by("code")]


ACCOUNT_FIELDS = ("code", "name", "type", "parent", "is_active")


def _account_saved(account: Account) -> Account:
    if account.parent_id is not None:
        parent = Account.objects.using(_db()).filter(pk=account.parent_id).first()
        if parent is None or parent.pk == account.pk:
            raise _invalid("parent", "invalid", _("The parent must be another account of the chart."))
        if parent.type != account.type:
            raise _invalid("parent", "type_mismatch", _("The parent must be of the same type."))
    return inputs.save_validated(
        account, app=APP, duplicate_field="code", error=InvalidLedgerInputError, stripped=("code", "name")
    )


def _has_lines(account: Account) -> bool:
    return JournalLine.objects.using(_db()).filter(account=account).exists()


def account_create(**fields) -> Account:
    with atomic(APP):
        return _account_saved(Account(**{k: v for k, v in fields.items() if k in ACCOUNT_FIELDS}))


def account_update(account: Account, **fields) -> Account:
    with atomic(APP):
        # The stored row, not the caller's instance (a form may have set the new values on it already).
        stored = Account.objects.using(_db()).select_for_update().get(pk=account.pk)
        new_type = fields.get("type", stored.type)
        if new_type != stored.type and _has_lines(stored):
            raise AccountInUseError(
                _(
                    "Account %(code)s has postings: its type cannot change (the reports would rewrite history)."
                )
                % {"code": stored.code}
            )
        if not fields.get("is_active", stored.is_active) and _is_posting_account(stored):
            raise AccountInUseError(
                _("Account %(code)s is a posting account: point its purpose at another one first.")
                % {"code": stored.code}
            )
        for name, value in fields.items():
            if name in ACCOUNT_FIELDS:
                setattr(account, name, value)
        return _account_saved(account)


def _is_posting_account(account: Account) -> bool:
    return PostingAccount.objects.using(_db()).filter(account=account).exists()


def account_delete(account: Account) -> None:
    with atomic(APP):
        if _has_lines(account) or _is_posting_account(account):
            raise AccountInUseError(
                _("Account %(code)s has postings or is a posting account: deactivate it instead.")
                % {"code": account.code}
            )
        if Account.objects.using(_db()).filter(parent=account).exists():
            raise AccountInUseError(_("Account %(code)s has sub-accounts.") % {"code": account.code})
        account.delete(using=_db())


def _checked_accounts(lines: Sequence[EntryLineInput]) -> dict[UUID, Account]:
    found = (
        Account.objects.using(_db())
        .only("id", "code", "is_active")
        .in_bulk({line.account_id for line in lines})
    )
    for index, line in enumerate(lines):
        account = found.get(line.account_id)
        if account is None:
            raise _invalid(f"lines.{index}.account", "unknown_account", _("No account has this id."))
        if not account.is_active:
            raise _invalid(
                f"lines.{index}.account",
                "inactive_account",
                _("Account %(code)s is inactive: nothing posts to it.") % {"code": account.code},
            )
    return found


def posting_accounts(*purposes: str) -> list[UUID]:
    """The accounts configured for ``purposes`` (PostingAccount, in the admin)."""
    configured = dict(
        PostingAccount.objects.using(_db()).filter(purpose__in=purposes).values_list("purpose", "account_id")
    )
    if not configured and not PostingAccount.objects.using(_db()).exists():
        # A new company's books (or an emptied database): the default chart, on first use.
        chart_install()
        return posting_accounts(*purposes)
    missing = [p for p in purposes if p not in configured]
    if missing:
        raise _invalid(
            None,
            "posting_account_missing",
            _("No account is configured for %(purposes)s (admin: posting accounts).")
            % {"purposes": ", ".join(missing)},
        )
    return [configured[p] for p in purposes]


def _period_of(day: datetime.date) -> FiscalPeriod:
    """The period holding ``day``, created on first use: open, unless a later
    month is already closed (months close in order, so a month before a closed
    one is closed too: a back-dated posting cannot slip under a close)."""
    periods = FiscalPeriod.objects.using(_db())
    period = periods.filter(year=day.year, month=day.month).first()
    if period is None:
        later_closed = periods.filter(
            Q(year__gt=day.year) | Q(year=day.year, month__gt=day.month), status=FiscalPeriod.Status.CLOSED
        ).exists()
        status = FiscalPeriod.Status.CLOSED if later_closed else FiscalPeriod.Status.OPEN
        with atomic(APP):  # a savepoint: a concurrent creator wins the unique index
            period, _created = periods.get_or_create(
                year=day.year, month=day.month, defaults={"status": status}
            )
    return period


def period_create(*, year: Any, month: Any) -> FiscalPeriod:
    """Open a month ahead of its first posting (closed if a later month is)."""
    year, month = _checked_month(year, month)
    with atomic(APP):
        if FiscalPeriod.objects.using(_db()).filter(year=year, month=month).exists():
            raise _invalid("month", "unique", _("This period already exists."))
        return _period_of(datetime.date(year, month, 1))


def posting_account_set(*, purpose: str, account: Account) -> PostingAccount:
    """Point an automatic posting's purpose at ``account`` (active)."""
    if purpose not in Purpose.values:
        raise _invalid("purpose", "invalid_choice", _("Unknown purpose."))
    with atomic(APP):
        stored = Account.objects.using(_db()).filter(pk=account.pk).first()
        if stored is None or not stored.is_active:
            raise _invalid("account", "inactive_account", _("Automatic postings need an active account."))
        posting, _created = PostingAccount.objects.using(_db()).update_or_create(
            purpose=purpose, defaults={"account": stored}
        )
        return posting


def _open_period_of(day: datetime.date) -> FiscalPeriod:
    period = _period_of(day)
    if period.status != FiscalPeriod.Status.OPEN:
        raise _period_closed(period)
    return period


def _period_closed(period: FiscalPeriod) -> PeriodClosedError:
    return PeriodClosedError(
        _("Period %(period)s is %(status)s: nothing posts into it.")
        % {"period": period, "status": period.status},
        extra={"period": str(period)},
    )


def first_open_day(day: datetime.date) -> datetime.date:
    """``day`` when its period is open, else the first day of the next open
    period: where an automatic posting dated in a closed month goes, since the
    fact it records (goods arrived late in the books) must still be booked."""
    while _period_of(day).status != FiscalPeriod.Status.OPEN:
        last = calendar.monthrange(day.year, day.month)[1]
        day = day.replace(day=last) + datetime.timedelta(days=1)
    return day


# --- Posting ------------------------------------------------------------------------

# A posting in one statement and one round trip (PostgreSQL): the period must
# be open and every account active, else nothing is inserted and no row comes
# back (the checked path then says why, or creates the month's period); a
# source reference already posted inserts nothing either (ON CONFLICT: a
# concurrent twin waits for the first, then finds it). The lines' foreign
# keys are checked at the end of the statement, when the entry exists. The
# triggers check the period again, balance at commit, and add the lines to
# the day balances. It is sent with server-side binding (psycopg's Cursor, the
# extended protocol, parameters in binary): Django's client-side binding would
# quote the arrays into the SQL text, about a third of a posting's time. Still
# an unnamed statement (Django keeps prepared statements off, for poolers).
# Django's query log does not see it.
_POST_SQL = """
WITH period AS (
    SELECT id FROM financeiro_fiscalperiod WHERE year = %(year)s AND month = %(month)s AND status = 'open'
), accounts AS (
    SELECT id, code FROM financeiro_account WHERE id = ANY(%(account_ids)s::uuid[]) AND is_active
), entry AS (
    INSERT INTO financeiro_journalentry
        (id, number, date, period_id, memo, source, source_ref, reverses_id, created_by, posted_at)
    SELECT %(id)s, 'JE-' || lpad(nextval('financeiro_entry_number')::text, 8, '0'), %(date)s, period.id,
        %(memo)s, %(source)s, %(source_ref)s, %(reverses_id)s, %(created_by)s, %(posted_at)s
    FROM period
    WHERE (SELECT count(*) FROM accounts) = %(account_count)s
    ON CONFLICT (source, source_ref) WHERE source_ref <> '' DO NOTHING
    RETURNING id, number, period_id
), lines AS (
    INSERT INTO financeiro_journalline (entry_id, account_id, date, period_id, posted, debit, credit, description)
    SELECT entry.id, v.account_id, %(date)s, entry.period_id, true, v.debit, v.credit, v.description
    FROM entry, unnest(%(line_accounts)s::uuid[], %(debits)s::numeric[], %(credits)s::numeric[],
        %(descriptions)s::text[]) WITH ORDINALITY AS v(account_id, debit, credit, description, position)
    ORDER BY v.position
)
SELECT entry.number, accounts.id, accounts.code FROM entry, accounts
"""


def _post_in_one_statement(entry: JournalEntry, lines: Sequence[EntryLineInput]) -> Entry | None:
    """The posting, or None when the statement inserted nothing (see _POST_SQL)."""
    account_ids = list({line.account_id for line in lines})
    params = {
        "year": entry.date.year,
        "month": entry.date.month,
        "account_ids": account_ids,
        "account_count": len(account_ids),
        "id": entry.id,
        "date": entry.date,
        "memo": entry.memo,
        "source": entry.source,
        "source_ref": entry.source_ref,
        "reverses_id": entry.reverses_id,
        "created_by": entry.created_by,
        "posted_at": entry.posted_at,
        "line_accounts": [line.account_id for line in lines],
        "debits": [line.debit for line in lines],
        "credits": [line.credit for line in lines],
        "descriptions": [line.description for line in lines],
    }
    connection = connections[_db()]
    try:
        with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
            cursor.execute(_POST_SQL, params)
            rows = cursor.fetchall()
    except IntegrityError as exc:
        if "is not open" in str(exc):  # closed between the statement's look and its insert
            raise PeriodClosedError(
                _("Period %(period)s is no longer open: nothing posts into it.")
                % {"period": _month(entry.date)},
                extra={"period": _month(entry.date)},
            ) from exc
        raise
    if not rows:
        return None
    entry.number = rows[0][0]
    codes = {account_id: code for _number, account_id, code in rows}
    posted = tuple(
        PostedLine(
            account_id=line.account_id,
            account_code=codes[line.account_id],
            debit=line.debit,
            credit=line.credit,
            description=line.description,
        )
        for line in lines
    )
    return Entry(
        id=entry.id,
        number=entry.number,
        date=entry.date,
        period=_month(entry.date),
        memo=entry.memo,
        source=entry.source,
        source_ref=entry.source_ref,
        reverses_id=entry.reverses_id,
        lines=posted,
        created_by=entry.created_by,
        posted_at=entry.posted_at,
    )


def _month(day: datetime.date) -> str:
    return f"{day.year}-{day.month:02d}"


def _insert_entry_portably(entry: JournalEntry, lines: Sequence[EntryLineInput]) -> None:
    """SQLite (the quick start): no sequence and no triggers, one writer at a
    time; the rules the triggers keep are kept here."""
    entry.number = f"JE-{JournalEntry.objects.using(_db()).count() + 1:08d}"
    entry.save(using=_db(), force_insert=True)
    JournalLine.objects.using(_db()).bulk_create(
        JournalLine(
            entry=entry,
            account_id=line.account_id,
            date=entry.date,
            period_id=entry.period_id,
            debit=line.debit,
            credit=line.credit,
            description=line.description,
        )
        for line in lines
    )
    sums: dict[UUID, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    for line in lines:
        sums[line.account_id][0] += line.debit
        sums[line.account_id][1] += line.credit
    for account_id, (debit, credit) in sums.items():
        balance, _created = AccountDayBalance.objects.using(_db()).get_or_create(
            account_id=account_id, day=entry.date, shard=0
        )
        AccountDayBalance.objects.using(_db()).filter(pk=balance.pk).update(
            debit=F("debit") + debit, credit=F("credit") + credit
        )


def _posted_lines(
    lines: Sequence[EntryLineInput], accounts_by_id: dict[UUID, Account]
) -> tuple[PostedLine, ...]:
    return tuple(
        PostedLine(
            account_id=line.account_id,
            account_code=accounts_by_id[line.account_id].code,
            debit=line.debit,
            credit=line.credit,
            description=line.description,
        )
        for line in lines
    )


def _entry_info(entry: JournalEntry, lines: tuple[PostedLine, ...], period: FiscalPeriod) -> Entry:
    return Entry(
        id=entry.id,
        number=entry.number,
        date=entry.date,
        period=str(period),
        memo=entry.memo,
        source=entry.source,
        source_ref=entry.source_ref,
        reverses_id=entry.reverses_id,
        lines=lines,
        created_by=entry.created_by,
        posted_at=entry.posted_at,
    )


def entry_info(entry: JournalEntry) -> Entry:
    """An entry as the contract returns it (lines in the order posted)."""
    lines = tuple(
        PostedLine(
            account_id=line.account_id,
            account_code=line.account.code,
            debit=line.debit,
            credit=line.credit,
            description=line.description,
        )
        for line in entry.lines.all()
    )
    return _entry_info(entry, lines, entry.period)


def _same_lines(entry: JournalEntry, lines: Sequence[EntryLineInput]) -> bool:
    def key(items: Iterable) -> list[tuple]:
        return sorted((str(i.account_id), i.debit, i.credit, i.description) for i in items)

    return key(entry.lines.all()) == key(lines)


def _existing_posting(
    source: str, source_ref: str, day: datetime.date | None, lines: Sequence[EntryLineInput]
) -> Entry | None:
    """The entry already posted for ``(source, source_ref)``, if the same (on
    ``day`` unless None: an automatic posting may have moved to an open period)."""
    entry = (
        JournalEntry.objects.using(_db())
        .select_related("period")
        .prefetch_related("lines__account")
        .filter(source=source, source_ref=source_ref)
        .first()
    )
    if entry is None:
        return None
    if (day is not None and entry.date != day) or not _same_lines(entry, lines):
        raise SourceConflictError(
            _("%(source)s %(ref)s was already posted as %(number)s with other lines.")
            % {"source": source, "ref": source_ref, "number": entry.number},
            extra={"entry": str(entry.id), "number": entry.number},
        )
    return entry_info(entry)


def _post(
    *,
    day: datetime.date,
    lines: Sequence[EntryLineInput],
    memo: str,
    source: str,
    source_ref: str,
    actor_id: UUID | None,
    reverses_id: UUID | None = None,
    match_date: bool = True,
) -> Entry:
    """Post checked lines (inside the caller's ``atomic(APP)``): in one
    statement when it can (PostgreSQL, an open period, active accounts, a new
    source reference), else through the checks one by one."""
    entry = JournalEntry(
        id=uuid.uuid4(),
        date=day,
        memo=memo,
        source=source,
        source_ref=source_ref,
        reverses_id=reverses_id,
        created_by=actor_id,
        posted_at=timezone.now(),
    )
    postgresql = connections[_db()].vendor == "postgresql"
    if postgresql:
        posted = _post_in_one_statement(entry, lines)
        if posted is not None:
            return posted
    return _post_checked(entry, lines, match_date=match_date, postgresql=postgresql)


def _post_checked(
    entry: JournalEntry, lines: Sequence[EntryLineInput], *, match_date: bool, postgresql: bool
) -> Entry:
    """Each rule with its own error (a repeat, an inactive account, a closed
    month), creating the month's period on its first posting; then the insert."""
    if entry.source_ref:
        existing = _existing_posting(
            entry.source, entry.source_ref, entry.date if match_date else None, lines
        )
        if existing is not None:
            return existing
    accounts_by_id = _checked_accounts(lines)
    period = _open_period_of(entry.date)
    entry.period = period
    if not postgresql:
        _insert_entry_portably(entry, lines)
        return _entry_info(entry, _posted_lines(lines, accounts_by_id), period)
    posted = _post_in_one_statement(entry, lines)
    if posted is None and entry.source_ref:  # a twin posted the same source meanwhile
        posted = _existing_posting(entry.source, entry.source_ref, None, lines)
    if posted is None:  # closed (or an account deactivated) meanwhile
        period.refresh_from_db(using=_db())
        _checked_accounts(lines)
        raise _period_closed(period)
    return posted


def post_entry(
    *,
    date: Any,
    lines: Sequence[EntryLineInput],
    memo: str = "",
    source: str = "manual",
    source_ref: str = "",
    actor_id: UUID | None = None,
) -> Entry:
    day = _date(date, "date")
    checked = _entry_lines(lines)
    memo = _text(memo, "memo", max_length=MAX_MEMO)
    source = _text(source, "source", max_length=MAX_SOURCE, required=True)
    source_ref = _text(source_ref, "source_ref", max_length=MAX_SOURCE_REF)
    with atomic(APP):
        return _post(
            day=day, lines=checked, memo=memo, source=source, source_ref=source_ref, actor_id=actor_id
        )


def post_automatic(
    *, date: datetime.date, lines: Sequence[EntryLineInput], memo: str, source: str, source_ref: str
) -> Entry:
    """A posting another app's fact causes (a receipt, an issue): dated in the
    first open period from ``date`` on, idempotent by its source."""
    checked = _entry_lines(lines)
    with atomic(APP):
        return _post(
            day=first_open_day(date),
            lines=checked,
            memo=memo,
            source=source,
            source_ref=source_ref,
            actor_id=None,
            match_date=False,
        )


def post_value(
    *, debit: str, credit: str, value: Decimal, day: datetime.date, memo: str, source: str, source_ref: str
) -> Entry | None:
    """Dr the ``debit`` purpose's account / Cr the ``credit`` one's for
    ``value`` (a negative value the other way round), as post_automatic;
    nothing for zero (goods received at no cost move no money)."""
    if value == 0:
        return None
    if value < 0:
        debit, credit, value = credit, debit, -value
    debit_account, credit_account = posting_accounts(debit, credit)
    return post_automatic(
        date=day,
        lines=[
            EntryLineInput(account_id=debit_account, debit=value, description=memo),
            EntryLineInput(account_id=credit_account, credit=value, description=memo),
        ],
        memo=memo,
        source=source,
        source_ref=source_ref,
    )


def _entry_get(entry_id: Any, *, lock: bool = False) -> JournalEntry:
    entries = JournalEntry.objects.using(_db()).select_related("period")
    try:
        entry_uuid = _uuid(entry_id, "entry")
        return (entries.select_for_update(of=("self",)) if lock else entries).get(pk=entry_uuid)
    except (JournalEntry.DoesNotExist, InvalidLedgerInputError):
        raise EntryNotFoundError() from None


def entry(*, entry_id: Any) -> Entry:
    return entry_info(_entry_get(entry_id))


def reverse_entry(*, entry_id: Any, date: Any = None, memo: str = "", actor_id: UUID | None = None) -> Entry:
    day = None if date is None else _date(date, "date")
    memo = _text(memo, "memo", max_length=MAX_MEMO)
    with atomic(APP):
        original = _entry_get(
            entry_id, lock=True
        )  # two reversals at once: the second waits, then sees the first
        if JournalEntry.objects.using(_db()).filter(reverses=original).exists():
            raise AlreadyReversedError(
                _("%(number)s has already been reversed.") % {"number": original.number},
                extra={"entry": str(original.id)},
            )
        mirrored = [
            EntryLineInput(
                account_id=line.account_id, debit=line.credit, credit=line.debit, description=line.description
            )
            for line in original.lines.all()
        ]
        return _post(
            day=day or original.date,
            lines=mirrored,
            memo=memo or _("Reversal of %(number)s") % {"number": original.number},
            source="reversal",
            source_ref=original.number,
            actor_id=actor_id,
            reverses_id=original.id,
        )


# --- Invoices -------------------------------------------------------------------------


def _invoice_line(line: Any, where: str) -> InvoiceLineInfo:
    quantity = inputs.decimal(
        getattr(line, "quantity", None),
        f"{where}.quantity",
        places=Decimal("0.001"),
        maximum=MAX_QUANTITY,
        positive=True,
        error=InvalidLedgerInputError,
    )
    unit_price = inputs.decimal(
        getattr(line, "unit_price", None),
        f"{where}.unit_price",
        places=Decimal("0.0001"),
        maximum=MAX_UNIT_PRICE,
        positive=False,
        error=InvalidLedgerInputError,
    )
    percents = {}
    for name in ("discount_percent", "tax_rate"):
        percents[name] = inputs.decimal(
            getattr(line, name, ZERO),
            f"{where}.{name}",
            places=MONEY,
            maximum=MAX_PERCENT,
            positive=False,
            error=InvalidLedgerInputError,
        )
    product_id = getattr(line, "product_id", None)
    discount, subtotal, tax, total = line_amounts(quantity, unit_price, **percents)
    return InvoiceLineInfo(
        product_id=None if product_id is None else _uuid(product_id, f"{where}.product"),
        sku=_text(getattr(line, "sku", ""), f"{where}.sku", max_length=64),
        description=_text(getattr(line, "description", ""), f"{where}.description", max_length=MAX_MEMO),
        quantity=quantity,
        unit_price=unit_price,
        discount=discount,
        subtotal=subtotal,
        tax=tax,
        total=total,
        **percents,
    )


def _customer(customer: Any) -> CustomerSnapshot:
    return CustomerSnapshot(
        id=_uuid(getattr(customer, "id", None), "customer.id"),
        name=_text(getattr(customer, "name", None), "customer.name", max_length=200, required=True),
        code=_text(getattr(customer, "code", ""), "customer.code", max_length=64),
        tax_id=_text(getattr(customer, "tax_id", ""), "customer.tax_id", max_length=64),
    )


def _next_invoice_number(year: int) -> str:
    """Gap-free per year: the counter row stays locked until the invoice commits."""
    counters = InvoiceCounter.objects.using(_db())
    if not counters.filter(year=year).update(last=F("last") + 1):
        with atomic(APP):  # a savepoint: a concurrent first invoice of the year wins the insert
            counters.get_or_create(year=year)
        counters.filter(year=year).update(last=F("last") + 1)
    last = counters.filter(year=year).values_list("last", flat=True).get()
    return f"INV-{year}-{last:06d}"


def invoice_info(invoice: Invoice) -> InvoiceInfo:
    return InvoiceInfo(
        id=invoice.id,
        number=invoice.number,
        customer_id=invoice.customer_id,
        customer_name=invoice.customer_name,
        order_id=invoice.order_id,
        issue_date=invoice.issue_date,
        due_date=invoice.due_date,
        subtotal=invoice.subtotal,
        discount_total=invoice.discount_total,
        tax_total=invoice.tax_total,
        total=invoice.total,
        amount_paid=invoice.amount_paid,
        balance=invoice.balance,
        status=invoice.status,
        entry_id=invoice.entry_id,
        lines=tuple(
            InvoiceLineInfo(
                product_id=line.product_id,
                sku=line.sku,
                description=line.description,
                quantity=line.quantity,
                unit_price=line.unit_price,
                discount_percent=line.discount_percent,
                tax_rate=line.tax_rate,
                discount=line.discount,
                subtotal=line.subtotal,
                tax=line.tax,
                total=line.total,
            )
            for line in invoice.lines.all()
        ),
    )


def _invoice_posting(number: str, subtotal: Decimal, tax: Decimal, total: Decimal) -> list[EntryLineInput]:
    receivables, revenue, taxes = posting_accounts(
        Purpose.RECEIVABLES, Purpose.REVENUE, Purpose.TAXES_PAYABLE
    )
    lines = [
        EntryLineInput(receivables, total, ZERO, number),
        EntryLineInput(revenue, ZERO, subtotal, number),
    ]
    if tax:
        lines.append(EntryLineInput(taxes, ZERO, tax, number))
    return lines


def _invoice_lines(lines: Any) -> list[InvoiceLineInfo]:
    return [
        _invoice_line(line, f"lines.{i}") for i, line in enumerate(_sequence(lines, "lines", required=True))
    ]


def _invoice_totals(
    checked: Sequence[InvoiceLineInfo], *, expected_totals: tuple[Decimal, Decimal] | None, order: Any
) -> tuple[Decimal, Decimal, Decimal]:
    """Subtotal, tax total and total of the lines; InvoiceMismatchError unless
    they are ``expected_totals`` (total, tax total: the order's), when given."""
    subtotal = sum((line.subtotal for line in checked), ZERO)
    tax_total = sum((line.tax for line in checked), ZERO)
    total = subtotal + tax_total
    if total <= 0:
        raise _invalid("lines", "zero_total", _("An invoice's total must be greater than zero."))
    if expected_totals is not None and expected_totals != (total, tax_total):
        raise InvoiceMismatchError(
            _(
                "Order %(order)s totals %(expected)s with tax %(expected_tax)s, but its lines invoice at %(total)s with tax %(tax)s."
            )
            % {
                "order": order,
                "expected": expected_totals[0],
                "expected_tax": expected_totals[1],
                "total": total,
                "tax": tax_total,
            }
        )
    return subtotal, tax_total, total


def issue_invoice(
    *,
    customer: Any,
    issue_date: Any,
    due_date: Any,
    lines: Sequence[InvoiceLineInput],
    order_id: Any = None,
    order_number: str = "",
    currency: str = "",
    actor_id: UUID | None = None,
    post_on: datetime.date | None = None,
    expected_totals: tuple[Decimal, Decimal] | None = None,
) -> InvoiceInfo:
    """Issue an invoice and post it; ``post_on`` (subscribers) dates the
    posting when the issue date's period is closed; ``expected_totals``
    (total, tax total: the order's) must be what the lines invoice at."""
    snapshot = _customer(customer)
    issued = _date(issue_date, "issue_date")
    due = _date(due_date, "due_date")
    if due < issued:
        raise _invalid("due_date", "before_issue_date", _("The due date cannot be before the issue date."))
    checked = _invoice_lines(lines)
    order_uuid = None if order_id is None else _uuid(order_id, "order")
    subtotal, tax_total, total = _invoice_totals(
        checked, expected_totals=expected_totals, order=order_number or order_uuid
    )
    with atomic(APP):
        if order_uuid is not None:
            existing = Invoice.objects.using(_db()).filter(order_id=order_uuid).first()
            if existing is not None:
                return invoice_info(existing)
        number = _next_invoice_number(issued.year)
        posted = _post(
            day=post_on or issued,
            lines=_invoice_posting(number, subtotal, tax_total, total),
            memo=_("Invoice %(number)s to %(customer)s") % {"number": number, "customer": snapshot.name},
            source="invoice",
            source_ref=number,
            actor_id=actor_id,
        )
        invoice = Invoice.objects.using(_db()).create(
            number=number,
            customer_id=snapshot.id,
            customer_code=snapshot.code,
            customer_name=snapshot.name,
            customer_tax_id=snapshot.tax_id,
            order_id=order_uuid,
            order_number=_text(order_number, "order_number", max_length=32),
            currency=_text(currency, "currency", max_length=3),
            issue_date=issued,
            due_date=due,
            subtotal=subtotal,
            discount_total=sum((line.discount for line in checked), ZERO),
            tax_total=tax_total,
            total=total,
            entry_id=posted.id,
        )
        InvoiceLine.objects.using(_db()).bulk_create(
            InvoiceLine(invoice=invoice, **vars(line)) for line in checked
        )
        publish(
            events.InvoiceIssued(
                invoice_id=invoice.id,
                number=number,
                order_id=order_uuid,
                customer_id=snapshot.id,
                issue_date=issued,
                due_date=due,
                subtotal=subtotal,
                tax_total=tax_total,
                total=total,
            ),
            using=_db(),
        )
        return invoice_info(invoice)


def invoice_order(
    *,
    customer: CustomerSnapshot,
    shipped_on: datetime.date,
    payment_terms_days: int,
    lines: Sequence[InvoiceLineInput],
    order_id: UUID,
    order_number: str,
    currency: str,
    total: Decimal,
    tax_total: Decimal,
) -> InvoiceInfo:
    """The invoice of a shipped order: issued on the shipping date, due after
    the payment terms, posted in the first open period from then on, and only
    if its lines invoice at the order's totals (InvoiceMismatchError)."""
    return issue_invoice(
        customer=customer,
        issue_date=shipped_on,
        due_date=shipped_on + datetime.timedelta(days=payment_terms_days),
        lines=lines,
        order_id=order_id,
        order_number=order_number,
        currency=currency,
        post_on=first_open_day(shipped_on),
        expected_totals=(total, tax_total),
    )


def _invoice_get(invoice_id: Any) -> Invoice:
    try:
        return Invoice.objects.using(_db()).get(pk=_uuid(invoice_id, "invoice"))
    except (Invoice.DoesNotExist, InvalidLedgerInputError):
        raise InvoiceNotFoundError() from None


def invoice(*, invoice_id: Any) -> InvoiceInfo:
    return invoice_info(_invoice_get(invoice_id))


# --- Month-end billing (faturamento mensal) -------------------------------------------

PER_SHIPMENT, MONTH_END = "per_shipment", "month_end"
INVOICING = (PER_SHIPMENT, MONTH_END)
MAX_PAYMENT_TERMS_DAYS = 3650
# How many of a month's unbilled orders a refused close names (then "and N more").
LISTED_ORDERS = 10


def invoicing_mode(value: Any) -> str:
    """A shipment's ``invoicing`` (vendas.OrderShipped), one financeiro knows:
    an unknown one is refused rather than invoiced the wrong way."""
    if value not in INVOICING:
        raise _invalid(
            "invoicing",
            "invalid_choice",
            _("Unknown invoicing %(value)r: one of %(modes)s.")
            % {"value": value, "modes": ", ".join(INVOICING)},
        )
    return value


def _line_json(line: InvoiceLineInfo) -> dict[str, str | None]:
    return {
        "quantity": str(line.quantity),
        "unit_price": str(line.unit_price),
        "description": line.description,
        "product_id": None if line.product_id is None else str(line.product_id),
        "sku": line.sku,
        "discount_percent": str(line.discount_percent),
        "tax_rate": str(line.tax_rate),
    }


def _line_input(data: dict[str, Any]) -> InvoiceLineInput:
    product_id = data.get("product_id")
    return InvoiceLineInput(
        quantity=Decimal(data["quantity"]),
        unit_price=Decimal(data["unit_price"]),
        description=data.get("description", ""),
        product_id=None if product_id is None else UUID(product_id),
        sku=data.get("sku", ""),
        discount_percent=Decimal(data.get("discount_percent", "0")),
        tax_rate=Decimal(data.get("tax_rate", "0")),
    )


def hold_for_month_end(
    *,
    customer: CustomerSnapshot,
    shipped_on: Any,
    payment_terms_days: Any,
    lines: Sequence[InvoiceLineInput],
    order_id: Any,
    order_number: str,
    currency: str,
    total: Any,
    tax_total: Any,
) -> PendingInvoice:
    """Keep the shipment of a customer invoiced at month end until its month
    has ended (``bill_month_end`` then issues its invoice). Checked now as its
    invoice will be (InvoiceMismatchError if its lines do not invoice at the
    order's totals), so a bad shipment is refused when it arrives, not at month
    end. Idempotent by order: a redelivered event adds nothing."""
    snapshot = _customer(customer)
    day = _date(shipped_on, "shipped_on")
    terms = payment_terms_days
    if isinstance(terms, bool) or not isinstance(terms, int) or not 0 <= terms <= MAX_PAYMENT_TERMS_DAYS:
        raise _invalid(
            "payment_terms_days",
            "invalid",
            _("Between 0 and %(max)d days.") % {"max": MAX_PAYMENT_TERMS_DAYS},
        )
    order_uuid = _uuid(order_id, "order")
    number = _text(order_number, "order_number", max_length=32)
    checked = _invoice_lines(lines)
    expected = (_amount(total, "total"), _amount(tax_total, "tax_total"))
    _invoice_totals(checked, expected_totals=expected, order=number or order_uuid)
    with atomic(APP):
        pending, _created = PendingInvoice.objects.using(_db()).get_or_create(
            order_id=order_uuid,
            defaults={
                "order_number": number,
                "customer_id": snapshot.id,
                "customer_code": snapshot.code,
                "customer_name": snapshot.name,
                "customer_tax_id": snapshot.tax_id,
                "shipped_on": day,
                "payment_terms_days": terms,
                "currency": _text(currency, "currency", max_length=3),
                "lines": [_line_json(line) for line in checked],
                "total": expected[0],
                "tax_total": expected[1],
            },
        )
        return pending


@dataclass(frozen=True)
class MonthEndBilling:
    """What a month-end billing run did: the shipments it invoiced, and those it
    could not (with the reason; they stay pending for the next run)."""

    billed: list[PendingInvoice]
    failed: list[tuple[PendingInvoice, str]]


def _bill_one(pending_id: UUID) -> PendingInvoice | None:
    """Invoice one pending shipment in a transaction of its own; None when it is
    billed already or another run is billing it (its row is locked)."""
    with atomic(APP):
        pending = (
            PendingInvoice.objects.using(_db())
            .select_for_update(skip_locked=True)
            .filter(pk=pending_id, billed_at__isnull=True)
            .first()
        )
        if pending is None:
            return None
        issued = pending.bills_on
        invoice = issue_invoice(
            customer=CustomerSnapshot(
                id=pending.customer_id,
                name=pending.customer_name,
                code=pending.customer_code,
                tax_id=pending.customer_tax_id,
            ),
            issue_date=issued,
            due_date=issued + datetime.timedelta(days=pending.payment_terms_days),
            lines=[_line_input(line) for line in pending.lines],
            order_id=pending.order_id,
            order_number=pending.order_number,
            currency=pending.currency,
            post_on=first_open_day(issued),
            expected_totals=(pending.total, pending.tax_total),
        )
        pending.invoice_id, pending.billed_at = invoice.id, timezone.now()
        pending.save(using=_db(), update_fields=["invoice", "billed_at"])
        return pending


def month_end_billing(*, as_of: Any) -> MonthEndBilling:
    """Invoice every pending shipment of a month that ended before ``as_of``'s
    month: issued on its month's last day, due after its payment terms, posted
    in the first open period from then on; one invoice per order, each in its
    own transaction (a refused one does not hold the others back). Safe to run
    twice, and concurrently: each row is locked while it is billed, and billed once."""
    first = _date(as_of, "as_of").replace(day=1)
    due = list(
        PendingInvoice.objects.using(_db())
        .filter(billed_at__isnull=True, shipped_on__lt=first)
        .order_by("shipped_on", "order_number", "pk")
        .values_list("pk", flat=True)
    )
    billed, failed = [], []
    for pending_id in due:
        try:
            pending = _bill_one(pending_id)
        except LedgerError as error:
            row = PendingInvoice.objects.using(_db()).get(pk=pending_id)
            log.error("financeiro: month-end billing of order %s refused: %s", row, error.message)
            failed.append((row, error.message))
            continue
        if pending is not None:
            billed.append(pending)
    return MonthEndBilling(billed=billed, failed=failed)


def bill_month_end(*, as_of: Any) -> int:
    """``month_end_billing``; how many shipments it invoiced."""
    return len(month_end_billing(as_of=as_of).billed)


def awaiting_month_end_billing(year: int, month: int) -> list[str]:
    """The order numbers of the month's shipments not billed at month end yet."""
    first = datetime.date(year, month, 1)
    last = first.replace(day=calendar.monthrange(year, month)[1])
    return list(
        PendingInvoice.objects.using(_db())
        .filter(billed_at__isnull=True, shipped_on__range=(first, last))
        .order_by("shipped_on", "order_number", "pk")
        .values_list("order_number", flat=True)
    )


def awaiting_billing_reason(year: int, month: int) -> str | None:
    """Why the month cannot close yet: shipments of it wait for month-end
    billing (their invoices are dated on its last day). None when none wait."""
    numbers = awaiting_month_end_billing(year, month)
    return _awaiting_reason(year, month, numbers) if numbers else None


def _awaiting_reason(year: int, month: int, numbers: list[str]) -> str:
    listed = ", ".join(numbers[:LISTED_ORDERS])
    if len(numbers) > LISTED_ORDERS:
        listed += _(" and %(count)d more") % {"count": len(numbers) - LISTED_ORDERS}
    return ngettext(
        "%(count)d shipment of %(period)s awaits month-end billing (%(orders)s): run manage.py bill_month_end.",
        "%(count)d shipments of %(period)s await month-end billing (%(orders)s): run manage.py bill_month_end.",
        len(numbers),
    ) % {"count": len(numbers), "period": f"{year}-{month:02d}", "orders": listed}


# --- Payments -------------------------------------------------------------------------


def _allocations(allocations: Any, amount: Decimal) -> list[tuple[UUID, Decimal]]:
    checked: list[tuple[UUID, Decimal]] = []
    seen: set[UUID] = set()
    for index, allocation in enumerate(_sequence(allocations, "allocations", required=False)):
        invoice_id = _uuid(getattr(allocation, "invoice_id", None), f"allocations.{index}.invoice")
        if invoice_id in seen:
            raise _invalid(
                f"allocations.{index}.invoice", "duplicate", _("The invoice is already allocated above.")
            )
        seen.add(invoice_id)
        checked.append(
            (
                invoice_id,
                _amount(getattr(allocation, "amount", None), f"allocations.{index}.amount", positive=True),
            )
        )
    allocated = sum((a for _i, a in checked), ZERO)
    if allocated > amount:
        raise OverAllocationError(
            _("%(allocated)s is allocated, more than the payment's %(amount)s.")
            % {"allocated": allocated, "amount": amount},
            errors=[
                FieldError(
                    field="allocations",
                    code="over_allocation",
                    message=_("The allocations exceed the payment by %(excess)s.")
                    % {"excess": allocated - amount},
                )
            ],
        )
    return checked


def _locked_invoices(customer_id: UUID, allocations: list[tuple[UUID, Decimal]]) -> dict[UUID, Invoice]:
    """The allocated invoices, locked in id order (no two payments deadlock)."""
    ids = sorted(invoice_id for invoice_id, _amount in allocations)
    found = {
        i.id: i for i in Invoice.objects.using(_db()).select_for_update().filter(pk__in=ids).order_by("pk")
    }
    for index, (invoice_id, amount) in enumerate(allocations):
        field = f"allocations.{index}.invoice"
        invoice = found.get(invoice_id)
        if invoice is None or invoice.customer_id != customer_id:
            raise _invalid(field, "unknown_invoice", _("The customer has no invoice with this id."))
        if invoice.status == Invoice.Status.VOID:
            raise _invalid(
                field, "void_invoice", _("Invoice %(number)s is void.") % {"number": invoice.number}
            )
        if amount > invoice.balance:
            raise OverAllocationError(
                _("%(amount)s is more than invoice %(number)s still owes (%(balance)s).")
                % {"amount": amount, "number": invoice.number, "balance": invoice.balance},
                errors=[
                    FieldError(
                        field=f"allocations.{index}.amount",
                        code="over_allocation",
                        message=_("At most %(balance)s: the invoice's balance.")
                        % {"balance": invoice.balance},
                    )
                ],
            )
    return found


def _apply(invoice: Invoice, amount: Decimal) -> bool:
    """Add ``amount`` to what the invoice has been paid; True when now paid."""
    invoice.amount_paid += amount
    invoice.status = Invoice.Status.PAID if invoice.balance == 0 else Invoice.Status.PARTIALLY_PAID
    return invoice.status == Invoice.Status.PAID


def payment_info(payment: Payment) -> PaymentInfo:
    allocations = tuple(
        AllocationInfo(invoice_id=a.invoice_id, invoice_number=a.invoice.number, amount=a.amount)
        for a in payment.allocations.all()
    )
    return PaymentInfo(
        id=payment.id,
        customer_id=payment.customer_id,
        date=payment.date,
        amount=payment.amount,
        method=payment.method,
        reference=payment.reference,
        allocations=allocations,
        unallocated=payment.amount - sum((a.amount for a in allocations), ZERO),
        entry_id=payment.entry_id,
    )


def record_payment(
    *,
    customer_id: Any,
    date: Any,
    amount: Any,
    method: str = Payment.Method.BANK_TRANSFER,
    allocations: Sequence[AllocationInput] = (),
    reference: str = "",
    actor_id: UUID | None = None,
) -> PaymentInfo:
    customer = _uuid(customer_id, "customer")
    day = _date(date, "date")
    total = _amount(amount, "amount", positive=True)
    if method not in Payment.Method.values:
        raise _invalid(
            "method",
            "invalid_choice",
            _("One of: %(methods)s.") % {"methods": ", ".join(Payment.Method.values)},
        )
    reference = _text(reference, "reference", max_length=200)
    checked = _allocations(allocations, total)
    with atomic(APP):
        invoices = _locked_invoices(customer, checked)
        payment = Payment(
            id=uuid.uuid4(), customer_id=customer, date=day, amount=total, method=method, reference=reference
        )
        money, receivables = posting_accounts(
            Purpose.CASH if method == Payment.Method.CASH else Purpose.BANK, Purpose.RECEIVABLES
        )
        posted = _post(
            day=day,
            lines=[
                EntryLineInput(money, total, ZERO, reference),
                EntryLineInput(receivables, ZERO, total, reference),
            ],
            memo=_("Payment %(reference)s") % {"reference": reference or payment.id},
            source="payment",
            source_ref=str(payment.id),
            actor_id=actor_id,
        )
        payment.entry_id, payment.created_by = posted.id, actor_id
        payment.save(using=_db(), force_insert=True)
        PaymentAllocation.objects.using(_db()).bulk_create(
            PaymentAllocation(payment=payment, invoice_id=invoice_id, amount=share)
            for invoice_id, share in checked
        )
        paid = [invoices[invoice_id] for invoice_id, share in checked if _apply(invoices[invoice_id], share)]
        Invoice.objects.using(_db()).bulk_update(invoices.values(), ["amount_paid", "status"])
        _publish_payment(payment, checked, paid)
        return payment_info(payment)


def _publish_payment(payment: Payment, allocations: list[tuple[UUID, Decimal]], paid: list[Invoice]) -> None:
    publish(
        events.PaymentRecorded(
            payment_id=payment.id,
            customer_id=payment.customer_id,
            date=payment.date,
            amount=payment.amount,
            allocations=[events.PaymentAllocated(invoice_id=i, amount=a) for i, a in allocations],
        ),
        using=_db(),
    )
    for invoice in paid:
        publish(
            events.InvoicePaid(
                invoice_id=invoice.id,
                number=invoice.number,
                order_id=invoice.order_id,
                customer_id=invoice.customer_id,
                paid_on=payment.date,
                total=invoice.total,
            ),
            using=_db(),
        )


def receivable_balance(*, customer_id: Any) -> Decimal:
    customer = _uuid(customer_id, "customer")
    owed = (
        Invoice.objects.using(_db())
        .filter(customer_id=customer, status__in=[Invoice.Status.OPEN, Invoice.Status.PARTIALLY_PAID])
        .aggregate(owed=Sum(F("total") - F("amount_paid")))["owed"]
    )
    paid = Payment.objects.using(_db()).filter(customer_id=customer).aggregate(total=Sum("amount"))["total"]
    allocated = (
        PaymentAllocation.objects.using(_db())
        .filter(payment__customer_id=customer)
        .aggregate(total=Sum("amount"))["total"]
    )
    credit = (paid or ZERO) - (allocated or ZERO)
    return _money((owed or ZERO) - credit)


# --- Periods ------------------------------------------------------------------------


def period_info(period: FiscalPeriod) -> PeriodInfo:
    return PeriodInfo(
        id=period.id,
        year=period.year,
        month=period.month,
        status=period.status,
        workflow=period.workflow,
        closed_at=period.closed_at,
        closed_by=period.closed_by,
    )


def periods() -> list[PeriodInfo]:
    return [period_info(p) for p in FiscalPeriod.objects.using(_db()).order_by("year", "month")]


def _checked_month(year: Any, month: Any) -> tuple[int, int]:
    if isinstance(year, bool) or not isinstance(year, int) or not 1900 <= year <= 9999:
        raise _invalid("year", "invalid", _("A year between 1900 and 9999 is required."))
    if isinstance(month, bool) or not isinstance(month, int) or not 1 <= month <= 12:
        raise _invalid("month", "invalid", _("A month between 1 and 12 is required."))
    return year, month


def period_get(period_id: Any) -> FiscalPeriod:
    try:
        return FiscalPeriod.objects.using(_db()).get(pk=_uuid(period_id, "period"))
    except (FiscalPeriod.DoesNotExist, InvalidLedgerInputError):
        raise PeriodNotFoundError() from None


def _lock_period(year: int, month: int) -> FiscalPeriod:
    _period_of(datetime.date(year, month, 1))
    return FiscalPeriod.objects.using(_db()).select_for_update().get(year=year, month=month)


def _refuse_out_of_order(period: FiscalPeriod) -> None:
    still_open = [
        str(p)
        for p in FiscalPeriod.objects.using(_db())
        .filter(Q(year__lt=period.year) | Q(year=period.year, month__lt=period.month))
        .exclude(status=FiscalPeriod.Status.CLOSED)
        .order_by("year", "month")
    ]
    if still_open:
        raise PeriodNotClosableError(
            _("Close the earlier periods first: %(periods)s.") % {"periods": ", ".join(still_open)},
            extra={"open_periods": still_open},
        )


def _refuse_awaiting_billing(period: FiscalPeriod) -> None:
    """A month does not close while shipments of it wait for month-end billing
    (awaiting_billing_reason)."""
    numbers = awaiting_month_end_billing(period.year, period.month)
    if numbers:
        raise PeriodNotClosableError(
            _awaiting_reason(period.year, period.month, numbers),
            extra={"awaiting_month_end_billing": numbers},
        )


def refuse_to_close(period: FiscalPeriod) -> None:
    """PeriodNotClosableError unless ``period`` is open and every earlier one closed."""
    if period.status != FiscalPeriod.Status.OPEN:
        raise PeriodNotClosableError(
            _("Period %(period)s is already %(status)s.") % {"period": period, "status": period.status},
            extra={
                "period_status": period.status,
                "workflow": str(period.workflow) if period.workflow else None,
            },
        )
    _refuse_out_of_order(period)


def _locked_period(period_id: Any) -> FiscalPeriod:
    return FiscalPeriod.objects.using(_db()).select_for_update().get(pk=period_get(period_id).pk)


def period_mark_closing(*, period_id: Any, workflow: UUID | None = None, again: bool = False) -> PeriodInfo:
    """Mark the period ``closing`` (under the close run ``workflow``): postings
    into it are refused from now on. ``again``: a run's own step, for which a
    period it already marks closing is fine; there the run's checks report
    shipments awaiting month-end billing, with its other reasons."""
    with atomic(APP):
        period = _locked_period(period_id)
        if not (again and period.status == FiscalPeriod.Status.CLOSING):
            refuse_to_close(period)
            _refuse_awaiting_billing(period)  # a 409 naming them, before any run exists
        period.status = FiscalPeriod.Status.CLOSING
        period.workflow = workflow or period.workflow
        period.save(using=_db(), update_fields=["status", "workflow"])
        return period_info(period)


def period_attach_workflow(*, period_id: Any, workflow: UUID) -> PeriodInfo:
    """Record the close run of the period (its status left as the run made it)."""
    with atomic(APP):
        period = _locked_period(period_id)
        period.workflow = workflow
        period.save(using=_db(), update_fields=["workflow"])
        return period_info(period)


def period_reopen(*, period_id: Any) -> PeriodInfo:
    """Back from ``closing`` to ``open`` (a close workflow failed or was cancelled)."""
    with atomic(APP):
        period = _locked_period(period_id)
        if period.status == FiscalPeriod.Status.CLOSING:
            period.status = FiscalPeriod.Status.OPEN
            period.save(using=_db(), update_fields=["status"])
        return period_info(period)


def close_period(*, year: Any, month: Any, actor_id: UUID | None = None) -> PeriodInfo:
    year, month = _checked_month(year, month)
    with atomic(APP):
        period = _lock_period(year, month)
        if period.status == FiscalPeriod.Status.CLOSED:
            raise PeriodNotClosableError(
                _("Period %(period)s is already closed.") % {"period": period},
                extra={"period_status": period.status},
            )
        _refuse_out_of_order(period)
        _refuse_awaiting_billing(period)
        period.status, period.closed_at, period.closed_by = (
            FiscalPeriod.Status.CLOSED,
            timezone.now(),
            actor_id,
        )
        period.save(using=_db(), update_fields=["status", "closed_at", "closed_by"])
        publish(
            events.PeriodClosed(period_id=period.id, year=year, month=month, closed_by=actor_id), using=_db()
        )
        return period_info(period)


# --- Reports (financeiro/reports.py) ---------------------------------------------------


def trial_balance(*, as_of: Any) -> TrialBalance:
    return reports.trial_balance(as_of=_date(as_of, "as_of"))


def balance_sheet(*, as_of: Any) -> BalanceSheet:
    return reports.balance_sheet(as_of=_date(as_of, "as_of"))


def income_statement(*, date_from: Any, date_to: Any) -> IncomeStatement:
    return reports.income_statement(
        date_from=_date(date_from, "date_from"), date_to=_date(date_to, "date_to")
    )


def ar_aging(*, as_of: Any) -> ArAging:
    return reports.ar_aging(as_of=_date(as_of, "as_of"))


class LedgerServiceImpl(LedgerService):
    """The in-process implementation of financeiro's contract."""

    def accounts(self):
        return accounts()

    def post_entry(self, *, date, lines, memo="", source="manual", source_ref="", actor_id=None):
        return post_entry(
            date=date, lines=lines, memo=memo, source=source, source_ref=source_ref, actor_id=actor_id
        )

    def reverse_entry(self, *, entry_id, date=None, memo="", actor_id=None):
        return reverse_entry(entry_id=entry_id, date=date, memo=memo, actor_id=actor_id)

    def entry(self, *, entry_id):
        return entry(entry_id=entry_id)

    def issue_invoice(
        self,
        *,
        customer,
        issue_date,
        due_date,
        lines,
        order_id=None,
        order_number="",
        currency="",
        actor_id=None,
    ):
        return issue_invoice(
            customer=customer,
            issue_date=issue_date,
            due_date=due_date,
            lines=lines,
            order_id=order_id,
            order_number=order_number,
            currency=currency,
            actor_id=actor_id,
        )

    def invoice(self, *, invoice_id):
        return invoice(invoice_id=invoice_id)

    def record_payment(
        self,
        *,
        customer_id,
        date,
        amount,
        method="bank_transfer",
        allocations=(),
        reference="",
        actor_id=None,
    ):
        return record_payment(
            customer_id=customer_id,
            date=date,
            amount=amount,
            method=method,
            allocations=allocations,
            reference=reference,
            actor_id=actor_id,
        )

    def receivable_balance(self, *, customer_id):
        return receivable_balance(customer_id=customer_id)

    def periods(self):
        return periods()

    def close_period(self, *, year, month, actor_id=None):
        return close_period(year=year, month=month, actor_id=actor_id)

    def trial_balance(self, *, as_of):
        return trial_balance(as_of=as_of)

    def balance_sheet(self, *, as_of):
        return balance_sheet(as_of=as_of)

    def income_statement(self, *, date_from, date_to):
        return income_statement(date_from=date_from, date_to=date_to)

    def ar_aging(self, *, as_of):
        return ar_aging(as_of=as_of)
