"""The reports part's ledger: N lines of the workload mix bulk-loaded by psycopg
``COPY`` in transactions of about 100,000 lines (entries first, then their
lines), with every trigger firing as for any other writer: the open-period check
per line, the day balances maintained per COPY statement, each entry's balance
checked at commit. Then ``VACUUM (ANALYZE)``, so reports read a settled table.

A load is recorded in ``bench_financeiro_load`` (lines, seed, time); the next
run reuses it when the ledger still holds exactly those N lines and nothing but
bulk-loaded entries. Importable without Django set up."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from uuid import UUID

import psycopg

from bench.financeiro import data

BATCH_LINES = 100_000
LEDGER = ("financeiro_journalline", "financeiro_journalentry", "financeiro_accountdaybalance")
META = """CREATE TABLE IF NOT EXISTS bench_financeiro_load (
    lines bigint NOT NULL, seed text NOT NULL, seconds double precision NOT NULL,
    vacuum_seconds double precision NOT NULL, loaded_at timestamptz NOT NULL DEFAULT now())"""
ENTRY_COLUMNS = "id, number, date, period_id, memo, source, source_ref, reverses_id, created_by, posted_at"
LINE_COLUMNS = "entry_id, account_id, date, period_id, posted, debit, credit, description"


def reusable(conn: psycopg.Connection, lines: int, seed: str) -> dict | None:
    """The recorded load, when the ledger is exactly what it loaded; else None."""
    with conn.transaction():
        conn.execute(META)
        row = conn.execute(
            "SELECT lines, seed, seconds, vacuum_seconds, loaded_at FROM bench_financeiro_load"
        ).fetchone()
        if row is None or row[0] != lines or row[1] != seed:
            return None
        held = conn.execute("SELECT count(*) FROM financeiro_journalline").fetchone()[0]
        foreign = conn.execute(
            "SELECT count(*) FROM financeiro_journalentry WHERE source <> %s", (data.LOAD_SOURCE,)
        ).fetchone()[0]
    if held != lines or foreign:
        return None
    return {
        "lines": row[0],
        "seed": row[1],
        "seconds": row[2],
        "vacuum_seconds": row[3],
        "loaded_at": row[4].isoformat(timespec="seconds"),
    }


def _write_batch(conn: psycopg.Connection, batch: list[data.Entry], periods: dict, posted_at: str) -> None:
    with conn.transaction():
        numbers = conn.execute(
            "SELECT 'JE-' || lpad(nextval('financeiro_entry_number')::text, 8, '0') "
            "FROM generate_series(1, %s)",
            (len(batch),),
        ).fetchall()
        entry_rows, line_rows = [], []
        for (day, lines), (number,) in zip(batch, numbers, strict=True):
            entry_id = uuid.uuid4()
            period = periods[day.year, day.month]
            entry_rows.append(
                f"{entry_id}\t{number}\t{day}\t{period}\t\t{data.LOAD_SOURCE}\t\t\\N\t\\N\t{posted_at}\n"
            )
            for account_id, debit, credit in lines:
                line_rows.append(
                    f"{entry_id}\t{account_id}\t{day}\t{period}\tt\t{data.money(debit)}\t{data.money(credit)}\t\n"
                )
        with conn.cursor().copy(f"COPY financeiro_journalentry ({ENTRY_COLUMNS}) FROM STDIN") as copy:
            copy.write("".join(entry_rows))
        with conn.cursor().copy(f"COPY financeiro_journalline ({LINE_COLUMNS}) FROM STDIN") as copy:
            copy.write("".join(line_rows))


def load(
    conn: psycopg.Connection,
    lines: int,
    seed: str,
    accounts: list[UUID],
    periods: dict[tuple[int, int], UUID],
) -> dict:
    """Empty the ledger, load ``lines`` lines, vacuum; the figures of the load."""
    with conn.transaction():
        conn.execute(META)
        conn.execute(f"TRUNCATE {', '.join(LEDGER)}, bench_financeiro_load CASCADE")
    posted_at = datetime.now(UTC).isoformat()
    t0 = time.perf_counter()
    batch: list[data.Entry] = []
    batched = entries = done = 0
    for entry in data.mixed_entries(f"{seed}-load", accounts, lines):
        batch.append(entry)
        batched += len(entry[1])
        if batched >= BATCH_LINES:
            _write_batch(conn, batch, periods, posted_at)
            entries, done, batch, batched = entries + len(batch), done + batched, [], 0
            print(f"   loaded {done:,} lines ({done / (time.perf_counter() - t0):,.0f}/s)", flush=True)
    if batch:
        _write_batch(conn, batch, periods, posted_at)
        entries, done = entries + len(batch), done + batched
    seconds = time.perf_counter() - t0
    vacuum_seconds = vacuum(conn)
    with conn.transaction():
        conn.execute(
            "INSERT INTO bench_financeiro_load (lines, seed, seconds, vacuum_seconds) VALUES (%s, %s, %s, %s)",
            (done, seed, seconds, vacuum_seconds),
        )
    return {
        "lines": done,
        "entries": entries,
        "seconds": round(seconds, 2),
        "lines_per_s": round(done / seconds),
        "vacuum_seconds": round(vacuum_seconds, 2),
        "reused": False,
    }


def vacuum(conn: psycopg.Connection) -> float:
    """``VACUUM (ANALYZE)`` of the ledger's tables (outside a transaction); seconds."""
    t0 = time.perf_counter()
    conn.autocommit = True
    try:
        conn.execute(f"VACUUM (ANALYZE) {', '.join(LEDGER)}")
    finally:
        conn.autocommit = False
    return time.perf_counter() - t0
