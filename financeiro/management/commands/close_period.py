"""``manage.py close_period YYYY-MM [--force]``: close a month's books
(services.close_period: nothing posts into it afterwards), after checking that
the books agree (financeiro/reconciliation.py). On any difference it prints
them and refuses, unless ``--force``: closing freezes whatever is wrong."""

import re

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from financeiro import reconciliation, services
from financeiro.contract import LedgerError

MONTH = re.compile(r"(\d{4})-(\d{1,2})")


def _month(value: str) -> tuple[int, int]:
    found = MONTH.fullmatch(value.strip())
    if found is None or not 1 <= int(found.group(2)) <= 12:
        raise CommandError(
            _('Invalid period "%(value)s": use YYYY-MM, e.g. 2026-03.') % {"value": value}, returncode=1
        )
    return int(found.group(1)), int(found.group(2))


class Command(BaseCommand):
    help = (
        "Close a fiscal period (YYYY-MM) after a clean ledger check; the earlier periods must be "
        "closed already. Exits with status 1 when it refuses."
    )

    def add_arguments(self, parser):
        parser.add_argument("period", metavar="YYYY-MM", help="the month to close")
        parser.add_argument(
            "--force", action="store_true", help="close even when the ledger check finds differences"
        )

    def handle(self, *args, period: str, force: bool = False, **options):
        year, month = _month(period)
        differences = reconciliation.ledger_differences()
        for difference in differences:
            self.stdout.write(str(difference))
        if differences and not force:
            raise CommandError(
                _(
                    "%(count)d ledger difference(s) found: %(period)s not closed "
                    "(fix them first, or --force to close anyway)."
                )
                % {"count": len(differences), "period": f"{year}-{month:02d}"},
                returncode=1,
            )
        if differences:
            self.stderr.write(self.style.WARNING(_("Closing despite the differences (--force).")))
        try:
            closed = services.close_period(year=year, month=month)
        except LedgerError as error:
            raise CommandError(error.message, returncode=1) from None
        self.stdout.write(
            self.style.SUCCESS(
                _("Period %(period)s closed.") % {"period": f"{closed.year}-{closed.month:02d}"}
            )
        )
