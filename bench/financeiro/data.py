"""The benchmark's workload, seeded (``random.Random``): a chart of 20 accounts
of its own (codes B100…, apart from the default chart's), the open periods of
the 730 days from 2024-10-01, and entries of k distinct accounts drawn
uniformly, ``k // 2`` debit lines and the rest credit. Credits are log-uniform
between 1.00 and 10,000.00; the debits split the credit total at random
whole-cent cut points (each at least 0.01), so every entry balances. Dates are
uniform over the 730 days; the mix is 75 % two-line and 25 % five-line entries.
Amounts are kept in cents (ints). Importable without Django set up."""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from uuid import UUID

import psycopg

START = date(2024, 10, 1)
DAYS = 730
LAST = START + timedelta(days=DAYS - 1)  # 2026-09-30
FIVE_LINE_SHARE = 0.25
LOG_MAX = math.log(10_000.00)  # credits: exp(uniform(log 1, log 10,000)) units
LOAD_SOURCE = "bench-load"  # the bulk-loaded entries
POST_SOURCE = "bench-post"  # the posting part's entries, removed after it
CHART = (
    *((f"B10{i}", f"Bench asset {i}", "asset") for i in range(6)),
    *((f"B20{i}", f"Bench liability {i}", "liability") for i in range(4)),
    *((f"B30{i}", f"Bench equity {i}", "equity") for i in range(2)),
    *((f"B40{i}", f"Bench income {i}", "income") for i in range(4)),
    *((f"B50{i}", f"Bench expense {i}", "expense") for i in range(4)),
)

Line = tuple[UUID, int, int]  # account id, debit cents, credit cents
Entry = tuple[date, list[Line]]


def money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def cents(amount: int) -> Decimal:
    """Cents as a 2-place Decimal (0 as 0.00)."""
    return Decimal(amount).scaleb(-2)


def months() -> list[tuple[int, int]]:
    """(year, month) of every day of the range, in order."""
    found: list[tuple[int, int]] = []
    day = START
    while day <= LAST:
        if not found or found[-1] != (day.year, day.month):
            found.append((day.year, day.month))
        day += timedelta(days=1)
    return found


def ensure_chart(conn: psycopg.Connection) -> list[UUID]:
    """The bench's 20 accounts (created if missing, active), in code order."""
    with conn.transaction():
        for code, name, kind in CHART:
            conn.execute(
                "INSERT INTO financeiro_account (id, code, name, type, parent_id, is_active) "
                "VALUES (gen_random_uuid(), %s, %s, %s, NULL, true) ON CONFLICT (code) DO NOTHING",
                (code, name, kind),
            )
        rows = conn.execute(
            "SELECT id, is_active FROM financeiro_account WHERE code = ANY(%s) ORDER BY code",
            ([c for c, _n, _t in CHART],),
        ).fetchall()
    if len(rows) != len(CHART) or not all(active for _id, active in rows):
        raise RuntimeError("the bench's chart of accounts is incomplete or has an inactive account")
    return [account_id for account_id, _active in rows]


def ensure_periods(conn: psycopg.Connection) -> dict[tuple[int, int], UUID]:
    """The range's fiscal periods, created open if missing; they must be open."""
    with conn.transaction():
        for year, month in months():
            conn.execute(
                "INSERT INTO financeiro_fiscalperiod (id, year, month, status) "
                "VALUES (gen_random_uuid(), %s, %s, 'open') ON CONFLICT (year, month) DO NOTHING",
                (year, month),
            )
        rows = conn.execute("SELECT year, month, id, status FROM financeiro_fiscalperiod").fetchall()
    periods = {(y, m): (pid, status) for y, m, pid, status in rows}
    wanted = {ym: periods[ym] for ym in months()}
    if any(status != "open" for _pid, status in wanted.values()):
        raise RuntimeError("a fiscal period of the bench's range is not open")
    return {ym: pid for ym, (pid, _status) in wanted.items()}


def draw_entry(rng: random.Random, accounts: list[UUID], k: int) -> Entry:
    """One balanced entry of ``k`` distinct accounts and its date."""
    chosen = rng.sample(accounts, k)
    debits_n = k // 2
    credits = [round(math.exp(rng.uniform(0.0, LOG_MAX)) * 100) for _ in range(k - debits_n)]
    total = sum(credits)
    cuts = [0, *sorted(rng.sample(range(1, total), debits_n - 1)), total]
    debits = [b - a for a, b in itertools.pairwise(cuts)]
    lines = [(a, d, 0) for a, d in zip(chosen[:debits_n], debits, strict=True)]
    lines += [(a, 0, c) for a, c in zip(chosen[debits_n:], credits, strict=True)]
    return START + timedelta(days=rng.randrange(DAYS)), lines


def entries(seed: str, accounts: list[UUID], n: int, k: int) -> list[Entry]:
    """``n`` entries of ``k`` lines each (the posting part)."""
    rng = random.Random(seed)
    return [draw_entry(rng, accounts, k) for _ in range(n)]


def mixed_entries(seed: str, accounts: list[UUID], lines: int) -> Iterator[Entry]:
    """Entries of the 75/25 mix adding up to exactly ``lines`` lines (``lines`` >= 4:
    any such count is 2a + 5b, so the mix is bent only for the last few entries)."""
    rng = random.Random(seed)
    left = lines
    while left:
        k = 5 if rng.random() < FIVE_LINE_SHARE else 2
        if not (left - k == 0 or left - k == 2 or left - k >= 4):
            k = 7 - k
        left -= k
        yield draw_entry(rng, accounts, k)
