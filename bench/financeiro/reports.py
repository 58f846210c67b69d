"""The reports part: on the loaded N lines, at three ``as_of`` dates (early,
mid-range, the last day), the service's ``trial_balance(as_of=d)``,
``balance_sheet(as_of=d)`` and ``income_statement(date_from=2025-01-01,
date_to=d)`` through the contract, each timed next to the bare
``SELECT account_id, SUM(debit), SUM(credit) FROM financeiro_journalline WHERE
date <= d GROUP BY account_id`` (psycopg, autocommit), in turn, every round.
PostgreSQL's parallel query is left as configured for both; the settings and
the workers the bare query's plan takes are recorded.

``check`` runs once per run: the service's trial balance must equal the bare
GROUP BY account by account, to the cent, or the run fails.
Import after ``django.setup()``."""

from __future__ import annotations

import json
import re
import time
from datetime import date
from statistics import median

from bench.financeiro import data, handwritten, posting

DATES = {"early": date(2025, 1, 31), "mid": date(2025, 9, 30), "last": data.LAST}
INCOME_FROM = date(2025, 1, 1)
REPORTS = ("trial_balance", "balance_sheet", "income_statement", "group_by")
SERVICE_REPORTS = REPORTS[:3]


def _call(svc, conn, report: str, as_of: date):
    if report == "trial_balance":
        return svc.trial_balance(as_of=as_of)
    if report == "balance_sheet":
        return svc.balance_sheet(as_of=as_of)
    if report == "income_statement":
        return svc.income_statement(date_from=INCOME_FROM, date_to=as_of)
    return handwritten.group_by(conn, as_of)


def settings(conn) -> dict:
    """Parallel query as both paths see it, and the bare query's planned workers."""
    show = "SHOW max_parallel_workers_per_gather"
    with posting.db().cursor() as cursor:
        cursor.execute(show)
        django_value = cursor.fetchone()[0]
    plan = json.dumps(
        conn.execute("EXPLAIN (FORMAT JSON) " + handwritten.GROUP_BY, (data.LAST,)).fetchone()[0]
    )
    workers = re.search(r'"Workers Planned": (\d+)', plan)
    return {
        "max_parallel_workers_per_gather": conn.execute(show).fetchone()[0],
        "max_parallel_workers_per_gather_django": django_value,
        "group_by_workers_planned": int(workers.group(1)) if workers else 0,
    }


def measure(rounds: int) -> dict:
    """Per date: median ms of each report over ``rounds`` (after one warm-up call each)."""
    svc = posting.service()
    with handwritten.connect(posting.dsn(), autocommit=True) as conn:
        for as_of in DATES.values():
            for report in REPORTS:
                _call(svc, conn, report, as_of)
        took = {label: {report: [] for report in REPORTS} for label in DATES}
        for _ in range(rounds):
            for label, as_of in DATES.items():
                for report in REPORTS:
                    a = time.perf_counter()
                    _call(svc, conn, report, as_of)
                    took[label][report].append(round((time.perf_counter() - a) * 1000, 3))
        found = settings(conn)
    result = {}
    for label, as_of in DATES.items():
        ms = {report: round(median(took[label][report]), 2) for report in REPORTS}
        result[label] = {
            "as_of": as_of.isoformat(),
            "ms": ms,
            "ratio_to_group_by": {r: round(ms[r] / ms["group_by"], 4) for r in SERVICE_REPORTS},
            "runs_ms": took[label],
        }
    return {"rounds": rounds, "dates": result, "settings": found}


def check() -> dict:
    """The service's trial balance equals the bare GROUP BY at every date, or RuntimeError."""
    svc = posting.service()
    checked = {}
    with handwritten.connect(posting.dsn(), autocommit=True) as conn:
        for label, as_of in DATES.items():
            tb = svc.trial_balance(as_of=as_of)
            rows = {row.account_id: (row.debit, row.credit) for row in tb.rows}
            bare = handwritten.group_by(conn, as_of)
            if rows != bare:
                wrong = sorted(str(a) for a in set(rows) | set(bare) if rows.get(a) != bare.get(a))
                raise RuntimeError(
                    f"the service's trial balance as of {as_of} differs from the GROUP BY over the lines "
                    f"for {len(wrong)} account(s), e.g. {wrong[0]}: service {rows.get(wrong[0])}, "
                    f"lines {bare.get(wrong[0])}"
                )
            bs = svc.balance_sheet(as_of=as_of)
            checked[label] = {
                "accounts": len(rows),
                "total_debit": str(tb.total_debit),
                "total_credit": str(tb.total_credit),
                "trial_balance_equals_group_by": True,
                "balance_sheet_balances": bs.total_assets == bs.total_liabilities + bs.total_equity,
            }
    return checked
