"""The ledger's rules hold against raw SQL that bypasses every service."""

import datetime

import pytest
from django.db import DatabaseError, connections, transaction

from erp.routers import alias_for_app
from financeiro.models import Account, AccountDayBalance, FiscalPeriod, JournalLine

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")
DAY = datetime.date(2026, 3, 14)


def alias() -> str:
    return alias_for_app("financeiro")


def raw_entry(period, lines, number="JE-T1"):
    """Insert an entry and its lines with SQL alone, in one transaction."""
    with transaction.atomic(using=alias()), connections[alias()].cursor() as cursor:
        cursor.execute(
            "INSERT INTO financeiro_journalentry (id, number, date, period_id, memo, source, source_ref, posted_at)"
            " VALUES (gen_random_uuid(), %s, %s, %s, '', 'test', '', now()) RETURNING id",
            [number, DAY, period.pk],
        )
        entry_id = cursor.fetchone()[0]
        for account, debit, credit in lines:
            cursor.execute(
                "INSERT INTO financeiro_journalline (entry_id, account_id, date, period_id, posted, debit, credit,"
                " description) VALUES (%s, %s, %s, %s, true, %s, %s, '')",
                [entry_id, account.pk, DAY, period.pk, debit, credit],
            )
    return entry_id


@pytest.fixture
def period():
    return FiscalPeriod.objects.using(alias()).create(year=2026, month=3)


CHART = {"1000": ("Cash", "asset"), "2100": ("Taxes payable", "liability"), "4000": ("Revenue", "income")}


def accounts(*codes):
    """The default chart's accounts (transactional tests empty the tables the
    data migration filled)."""
    return [
        Account.objects.using(alias()).get_or_create(
            code=code, defaults={"name": CHART[code][0], "type": CHART[code][1]}
        )[0]
        for code in codes
    ]


def test_an_unbalanced_entry_is_refused_at_commit(period):
    cash, revenue = accounts("1000", "4000")
    with pytest.raises(DatabaseError, match="does not balance"):
        raw_entry(period, [(cash, "100.00", "0"), (revenue, "0", "99.99")])
    assert not JournalLine.objects.using(alias()).exists()


def test_a_one_line_entry_is_refused(period):
    (cash,) = accounts("1000")
    with pytest.raises(DatabaseError, match="at least two"):
        raw_entry(period, [(cash, "100.00", "0")])


def test_nothing_posts_into_a_closed_period(period):
    FiscalPeriod.objects.using(alias()).filter(pk=period.pk).update(status="closed")
    cash, revenue = accounts("1000", "4000")
    with pytest.raises(DatabaseError, match="not open"):
        raw_entry(period, [(cash, "10.00", "0"), (revenue, "0", "10.00")])


def test_posted_lines_are_immutable(period):
    cash, revenue = accounts("1000", "4000")
    raw_entry(period, [(cash, "10.00", "0"), (revenue, "0", "10.00")])
    with pytest.raises(DatabaseError, match="immutable"), connections[alias()].cursor() as cursor:
        cursor.execute("UPDATE financeiro_journalline SET debit = 20 WHERE debit = 10")


def test_day_balances_follow_the_lines(period):
    cash, revenue, tax = accounts("1000", "4000", "2100")
    raw_entry(period, [(cash, "110.00", "0"), (revenue, "0", "100.00"), (tax, "0", "10.00")], "JE-T1")
    raw_entry(period, [(cash, "5.50", "0"), (revenue, "0", "5.50")], "JE-T2")
    with connections[alias()].cursor() as cursor:
        cursor.execute(
            "SELECT account_id, sum(debit), sum(credit) FROM financeiro_journalline GROUP BY account_id ORDER BY 1"
        )
        from_lines = cursor.fetchall()
        cursor.execute(
            "SELECT account_id, sum(debit), sum(credit) FROM financeiro_accountdaybalance GROUP BY account_id"
            " ORDER BY 1"
        )
        assert cursor.fetchall() == from_lines
    assert AccountDayBalance.objects.using(alias()).filter(account=cash).exists()
