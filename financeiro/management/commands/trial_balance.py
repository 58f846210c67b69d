"""``manage.py trial_balance [--as-of YYYY-MM-DD] [--format text|json]``: every
account with postings up to and including the date (financeiro/reports.py),
with their debits, credits and balance (debit − credit), the totals, and
whether debits equal credits."""

import datetime
import json

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _

from financeiro import services
from financeiro.contract import LedgerError, TrialBalance

NAME_WIDTH = 40  # longer names are cut, so the amounts stay in line


def _date(value: str | None) -> datetime.date:
    if value is None:
        return timezone.localdate()
    try:
        return datetime.date.fromisoformat(value.strip())
    except ValueError:
        raise CommandError(
            _('Invalid --as-of date "%(value)s": use YYYY-MM-DD, e.g. 2026-03-31.') % {"value": value}
        ) from None


def _name(name: str) -> str:
    return name if len(name) <= NAME_WIDTH else name[: NAME_WIDTH - 1] + "…"


class Command(BaseCommand):
    help = "Print the trial balance as of a date (default today): debits, credits and balance per account."

    def add_arguments(self, parser):
        parser.add_argument("--as-of", metavar="YYYY-MM-DD", help="the last day included (default: today)")
        parser.add_argument("--format", choices=("text", "json"), default="text")

    def handle(self, *args, as_of: str | None = None, format: str = "text", **options):
        try:
            report = services.trial_balance(as_of=_date(as_of))
        except LedgerError as error:
            raise CommandError(error.message, returncode=1) from None
        self.stdout.write(self._json(report) if format == "json" else self._table(report))

    def _json(self, report: TrialBalance) -> str:
        return json.dumps(
            {
                "as_of": report.as_of.isoformat(),
                "rows": [
                    {
                        "code": row.code,
                        "name": row.name,
                        "type": row.type,
                        "debit": str(row.debit),
                        "credit": str(row.credit),
                        "balance": str(row.balance),
                    }
                    for row in report.rows
                ],
                "total_debit": str(report.total_debit),
                "total_credit": str(report.total_credit),
                "balanced": report.total_debit == report.total_credit,
            },
            indent=2,
        )

    def _table(self, report: TrialBalance) -> str:
        headers = (_("Code"), _("Account"), _("Debit"), _("Credit"), _("Balance"))
        rows = [
            (row.code, _name(row.name), str(row.debit), str(row.credit), str(row.balance))
            for row in report.rows
        ]
        difference = report.total_debit - report.total_credit
        totals = ("", _("Total"), str(report.total_debit), str(report.total_credit), str(difference))
        widths = [max(len(cells[i]) for cells in [headers, *rows, totals]) for i in range(len(headers))]

        def line(cells) -> str:
            text, amounts = cells[:2], cells[2:]
            left = [cell.ljust(width) for cell, width in zip(text, widths[:2], strict=True)]
            right = [cell.rjust(width) for cell, width in zip(amounts, widths[2:], strict=True)]
            return "  ".join(left + right).rstrip()

        rule = "  ".join("-" * width for width in widths)
        out = [
            _("Trial balance as of %(date)s") % {"date": report.as_of.isoformat()},
            "",
            line(headers),
            rule,
        ]
        out += [line(cells) for cells in rows] or [_("(no postings)")]
        out += [rule, line(totals), ""]
        if difference == 0:
            out.append(self.style.SUCCESS(_("Balanced: debits equal credits.")))
        else:
            out.append(
                self.style.ERROR(
                    _("NOT balanced: debits − credits = %(difference)s.") % {"difference": difference}
                )
            )
        return "\n".join(out)
