"""Closing a month through the ``period_close`` workflow (the definition is in
financeiro/workflows.py).

``start`` marks the period ``closing`` (refusing one that is not open, has
an open month before it, or has shipments awaiting month-end billing), so
nothing posts into it while the checks and the confirmation happen, then
starts the run (the workflows app commits it on
its own: no call to another app inside a transaction of ours) and records its
``thread_id`` on the period; a run that cannot start reopens the period. The run's steps call ``check`` and
``finish`` (whose ``close_period`` refuses, as ``check`` does, a month with
shipments still awaiting month-end billing: one may arrive between the two); a
run that fails or is cancelled (the engine's events, see subscribers.py) or a
confirmation that says no calls ``reopen``. Each is idempotent: a step may run
twice, an event may be redelivered.
"""

from __future__ import annotations

import calendar
import datetime
from typing import Any
from uuid import UUID

from django.utils.translation import gettext as _

from erp.db import alias
from financeiro import interfaces, reconciliation, reports, services
from financeiro.models import FiscalPeriod

DEFINITION = "period_close"
Status = FiscalPeriod.Status


class PeriodChecksFailedError(Exception):
    """Ends the run (failed) with the reasons: the engine shows them as its error."""


def start(*, period_id: Any, actor_id: UUID | None):
    """Start closing the period; the run's info (``thread_id``, ``status``)."""
    period = services.period_mark_closing(period_id=period_id)  # a clear 409 before any run exists
    try:
        run = interfaces.workflows().start(
            definition=DEFINITION,
            input={"period_id": str(period.id), "year": period.year, "month": period.month},
            started_by=actor_id,
        )
    except BaseException:
        services.period_reopen(period_id=period.id)
        raise
    services.period_attach_workflow(period_id=period.id, workflow=run.thread_id)
    return interfaces.workflows().get(thread_id=run.thread_id)


def last_day(year: int, month: int) -> datetime.date:
    return datetime.date(year, month, calendar.monthrange(year, month)[1])


def check(*, period_id: str, thread_id: UUID, year: int, month: int) -> dict:
    """The checks before a close: what the run records. A failed one reopens
    the period and raises PeriodChecksFailedError listing every reason."""
    services.period_mark_closing(period_id=period_id, workflow=thread_id, again=True)
    as_of = last_day(year, month)
    trial = reports.trial_balance(as_of=as_of)
    problems = [str(difference) for difference in reconciliation.ledger_differences(include_stock=True)]
    awaiting = services.awaiting_billing_reason(year, month)
    if awaiting is not None:
        problems.append(awaiting)
    if trial.total_debit != trial.total_credit:
        problems.append(
            _("The trial balance as of %(date)s does not balance: debits %(debit)s, credits %(credit)s.")
            % {"date": as_of, "debit": trial.total_debit, "credit": trial.total_credit}
        )
    if problems:
        services.period_reopen(period_id=period_id)
        raise PeriodChecksFailedError("; ".join(problems))
    return {
        "as_of": as_of.isoformat(),
        "accounts": len(trial.rows),
        "total_debit": str(trial.total_debit),
        "total_credit": str(trial.total_credit),
        "stock_value": str(interfaces.stock_value()),
    }


def finish(*, period_id: Any, actor_id: UUID | None):
    """Close the period (already closed: nothing to do)."""
    period = services.period_get(period_id)
    if period.status == Status.CLOSED:
        return services.period_info(period)
    return services.close_period(year=period.year, month=period.month, actor_id=actor_id)


def reopen(*, thread_id: UUID) -> None:
    """The run ``thread_id`` ended without closing: its period opens again."""
    period = FiscalPeriod.objects.using(alias("financeiro")).filter(workflow=thread_id).first()
    if period is not None:
        services.period_reopen(period_id=period.id)
