"""Reconcile the books with themselves and with the stock (financeiro/reconciliation.py).

Exit status 0 and one summary line when everything agrees; otherwise one line
per difference and exit status 1, so cron or CI can alert on it."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from financeiro import reconciliation


class Command(BaseCommand):
    help = (
        "Check that every journal entry balances, the day balances equal the posted lines, invoices and "
        "payments agree with their allocations, lines and postings, and the inventory account equals "
        "estoque's stock value. Exits with status 1 on any difference."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--no-stock",
            action="store_true",
            help="skip the inventory account = stock value check (it asks estoque)",
        )

    def handle(self, *args, no_stock: bool = False, **options):
        differences = reconciliation.ledger_differences(include_stock=not no_stock)
        if differences:
            for difference in differences:
                self.stdout.write(str(difference))
            raise CommandError(
                _("%(count)d ledger difference(s) found.") % {"count": len(differences)}, returncode=1
            )
        covered = reconciliation.totals()
        summary = _(
            "Ledger OK: %(entries)d entry(ies), %(lines)d line(s), %(invoices)d invoice(s) and "
            "%(payments)d payment(s) agree."
        ) % {
            "entries": covered.entries,
            "lines": covered.lines,
            "invoices": covered.invoices,
            "payments": covered.payments,
        }
        if not no_stock:
            summary += " " + _("The inventory account equals the stock value.")
        self.stdout.write(self.style.SUCCESS(summary))
