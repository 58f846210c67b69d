"""Reconcile estoque's running totals with its ledger (estoque/reconciliation.py).

Exit status 0 and one summary line when everything agrees; otherwise one line
per difference and exit status 1, so cron or CI can alert on it."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from erp.db import alias
from estoque import reconciliation
from estoque.models import Product


class Command(BaseCommand):
    help = (
        "Check that every stock level, product total, stock value and reservation total equals what "
        "the stock moves and active reservations add up to. Exits with status 1 on any difference."
    )

    def add_arguments(self, parser):
        parser.add_argument("--product", metavar="SKU", help="check only the product with this SKU")

    def handle(self, *args, product=None, **options):
        if product is not None and not Product.objects.using(alias("estoque")).filter(sku=product).exists():
            raise CommandError(_("No product has the SKU %(sku)s.") % {"sku": product})
        differences = reconciliation.reconcile(sku=product)
        if differences:
            for difference in differences:
                self.stdout.write(str(difference))
            raise CommandError(
                _("%(count)d stock difference(s) found.") % {"count": len(differences)}, returncode=1
            )
        covered = reconciliation.totals(sku=product)
        self.stdout.write(
            self.style.SUCCESS(
                _(
                    "Stock OK: %(products)d product(s), %(warehouses)d warehouse(s), %(levels)d level(s), "
                    "%(moves)d move(s) and %(reservations)d active reservation(s) agree."
                )
                % {
                    "products": covered.products,
                    "warehouses": covered.warehouses,
                    "levels": covered.levels,
                    "moves": covered.moves,
                    "reservations": covered.active_reservations,
                }
            )
        )
