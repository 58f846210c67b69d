"""financeiro's workflow definitions (registered with the engine when the class
is created; financeiro.apps imports this module).

``period_close``: started by ``POST /periods/{id}/close/`` (financeiro/
period_close.py), with the period already marked ``closing``. It checks the
books (every entry balanced, the day balances and invoices agree with their
lines, the trial balance as of the month's last day balances, the inventory
account equals estoque's stock value, no shipment of the month still awaits
month-end billing); a failed check fails the run listing every reason (and
reopens the period; an admin may retry once fixed). Then a finance user other
than the one who started it confirms (maker ≠ checker), and the period closes,
publishing PeriodClosed; a "no" reopens it.
"""

from __future__ import annotations

from financeiro import period_close
from workflows.contract import AutoStep, HumanStep, StepContext, WorkflowDefinition

UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"

CONFIRM_SCHEMA = {
    "type": "object",
    "required": ["confirm"],
    "properties": {
        "confirm": {"type": "boolean", "description": "true closes the period; false reopens it."},
        "comment": {"type": "string", "maxLength": 1000},
    },
    "additionalProperties": False,
}


def run_checks(state, ctx: StepContext):
    checks = period_close.check(
        period_id=state["period_id"], thread_id=ctx.thread_id, year=state["year"], month=state["month"]
    )
    return {"checks": checks}


def confirmed(state) -> str:
    return "close" if state["confirm"]["confirm"] else "reopen"


def close(state, ctx: StepContext):
    period = period_close.finish(period_id=state["period_id"], actor_id=state.get("confirmed_by"))
    return {"outcome": "closed", "closed_at": period.closed_at.isoformat() if period.closed_at else None}


def reopen(state, ctx: StepContext):
    period_close.reopen(thread_id=ctx.thread_id)
    return {"outcome": "reopened"}


class PeriodClose(WorkflowDefinition):
    name = period_close.DEFINITION
    version = 1
    description = (
        "Close a month: check the books, then a finance user other than the one who started it "
        "confirms, and nothing posts into the month afterwards."
    )
    input_schema = {
        "type": "object",
        "required": ["period_id", "year", "month"],
        "properties": {
            "period_id": {"type": "string", "pattern": UUID_PATTERN},
            "year": {"type": "integer", "minimum": 1900, "maximum": 9999},
            "month": {"type": "integer", "minimum": 1, "maximum": 12},
        },
    }
    start = "check"
    steps = (
        AutoStep("check", run_checks, next="confirm"),
        HumanStep(
            "confirm",
            prompt="The checks passed (see state.checks). Close the period? Nothing posts into it afterwards.",
            input_schema=CONFIRM_SCHEMA,
            roles=("finance",),
            forbid_starter=True,
            actor_as="confirmed_by",
            next=confirmed,
            branches=("close", "reopen"),
        ),
        AutoStep("close", close),
        AutoStep("reopen", reopen),
    )
