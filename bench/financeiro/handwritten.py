"""The baselines, written by hand in SQL through psycopg.

Posting: what ``financeiro.services.post_entry`` leaves, in one transaction per
entry: one ``financeiro_journalentry`` row numbered from the sequence as the
service numbers it (``JE-`` and 8 digits), its lines carrying the entry's date,
period and ``posted``, so the same triggers fire (period check per line, day
balances per statement, the balance check at commit). It makes the service's
checks too, in the same statement: the period of the date exists and is open,
every account exists and is active (a line whose account fails is not
inserted, and the count says so). No ORM, no contract dataclasses.

Reports: the bare ``GROUP BY`` over the lines, the figure the service's trial
balance must match and beat.

One psycopg connection per process, psycopg's defaults (a statement is
prepared server-side after its fifth use; Django binds client-side).
Importable without Django set up.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import UUID

import psycopg

from bench.financeiro import data

POST = """
WITH period AS (
    SELECT id FROM financeiro_fiscalperiod WHERE year = %s AND month = %s AND status = 'open'
), entry AS (
    INSERT INTO financeiro_journalentry
        (id, number, date, period_id, memo, source, source_ref, reverses_id, created_by, posted_at)
    SELECT %s, 'JE-' || lpad(nextval('financeiro_entry_number')::text, 8, '0'), %s, period.id, %s, %s, '',
        NULL, NULL, %s
    FROM period
    RETURNING id, number, period_id
), lines AS (
    INSERT INTO financeiro_journalline (entry_id, account_id, date, period_id, posted, debit, credit, description)
    SELECT entry.id, v.account_id, %s, entry.period_id, true, v.debit, v.credit, ''
    FROM entry, unnest(%s::uuid[], %s::numeric[], %s::numeric[]) WITH ORDINALITY
        AS v(account_id, debit, credit, position)
    JOIN financeiro_account a ON a.id = v.account_id AND a.is_active
    ORDER BY v.position
    RETURNING 1
)
SELECT (SELECT number FROM entry), (SELECT count(*) FROM lines)"""

GROUP_BY = "SELECT account_id, SUM(debit), SUM(credit) FROM financeiro_journalline WHERE date <= %s GROUP BY account_id"


class RefusedError(RuntimeError):
    """What the service would raise as a domain error (never expected in the bench)."""


def connect(dsn: str, *, autocommit: bool = False) -> psycopg.Connection:
    return psycopg.connect(dsn, autocommit=autocommit)


def prepared(entry: data.Entry) -> tuple[date, list[UUID], list[Decimal], list[Decimal]]:
    """An entry as ``post`` takes it: its date, accounts, debits and credits."""
    day, lines = entry
    return (
        day,
        [a for a, _d, _c in lines],
        [data.cents(d) for _a, d, _c in lines],
        [data.cents(c) for _a, _d, c in lines],
    )


def post(
    conn: psycopg.Connection, day: date, accounts: list[UUID], debits: list, credits: list, memo: str
) -> str:
    """One entry in one transaction; its number."""
    try:
        number, inserted = conn.execute(
            POST,
            (
                day.year, day.month, uuid.uuid4(), day, memo, data.POST_SOURCE, datetime.now(UTC),
                day, accounts, debits, credits,
            ),
        ).fetchone()  # fmt: skip
        if number is None:
            raise RefusedError(f"no open period for {day}")
        if inserted != len(accounts):
            raise RefusedError("an account is unknown or inactive")
    except BaseException:
        conn.rollback()
        raise
    conn.commit()
    return number


def group_by(conn: psycopg.Connection, as_of: date) -> dict[UUID, tuple[Decimal, Decimal]]:
    """Debit and credit per account of the lines up to ``as_of``."""
    return {account: (debit, credit) for account, debit, credit in conn.execute(GROUP_BY, (as_of,))}
