"""``manage.py bill_month_end [--as-of YYYY-MM-DD]``: month-end billing
(faturamento mensal) now, as beat's hourly ``financeiro.bill_month_end`` does:
every shipment of a customer invoiced at month end, shipped in a month that
ended before ``--as-of``'s month (default: the company's today), is invoiced on
its month's last day, due after its payment terms. One line per invoice; a
shipment that cannot be invoiced is named with the reason (it stays pending)
and the command exits with status 1. Safe to run again: what is billed is
billed once."""

import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from financeiro import interfaces, services
from financeiro.contract import LedgerError


def _date(value: str | None) -> datetime.date:
    if value is None:
        return interfaces.today()
    try:
        return datetime.date.fromisoformat(value.strip())
    except ValueError:
        raise CommandError(
            _('Invalid --as-of date "%(value)s": use YYYY-MM-DD, e.g. 2026-12-01.') % {"value": value},
            returncode=1,
        ) from None


class Command(BaseCommand):
    help = (
        "Invoice the shipments of customers invoiced at month end whose month has ended (before the "
        "--as-of date's month, default today's). Exits with status 1 when a shipment cannot be invoiced."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--as-of",
            metavar="YYYY-MM-DD",
            help="bill the months that ended before this date's month (default: today)",
        )

    def handle(self, *args, as_of: str | None = None, **options):
        day = _date(as_of)
        try:
            run = services.month_end_billing(as_of=day)
        except LedgerError as error:
            raise CommandError(error.message, returncode=1) from None
        before = f"{day:%Y-%m}"
        for pending in run.billed:
            invoice = pending.invoice
            self.stdout.write(
                _(
                    "%(order)s (%(customer)s, shipped %(shipped)s): invoice %(invoice)s of %(total)s, "
                    "issued %(issued)s, due %(due)s"
                )
                % {
                    "order": pending,
                    "customer": pending.customer_name,
                    "shipped": pending.shipped_on.isoformat(),
                    "invoice": invoice.number,
                    "total": invoice.total,
                    "issued": invoice.issue_date.isoformat(),
                    "due": invoice.due_date.isoformat(),
                }
            )
        if run.billed:
            message = ngettext(
                "%(count)d shipment of the months before %(month)s invoiced.",
                "%(count)d shipments of the months before %(month)s invoiced.",
                len(run.billed),
            ) % {"count": len(run.billed), "month": before}
            self.stdout.write(self.style.SUCCESS(message))
        elif not run.failed:
            self.stdout.write(
                _("Nothing to bill: no shipment of a month before %(month)s awaits month-end billing.")
                % {"month": before}
            )
        for pending, reason in run.failed:
            self.stderr.write(
                _("%(order)s (shipped %(shipped)s) not invoiced: %(reason)s")
                % {"order": pending, "shipped": pending.shipped_on.isoformat(), "reason": reason}
            )
        if run.failed:
            raise CommandError(
                ngettext(
                    "%(count)d shipment could not be invoiced (see above); it stays pending.",
                    "%(count)d shipments could not be invoiced (see above); they stay pending.",
                    len(run.failed),
                )
                % {"count": len(run.failed)},
                returncode=1,
            )
