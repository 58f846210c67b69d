"""Print who may call each API endpoint, generated from the views' access rules."""

from django.core.management.base import BaseCommand

from erp.access import rules_table


class Command(BaseCommand):
    help = "Print the access rules of every /api/v1/ endpoint as the Markdown table the README shows."

    def handle(self, *args, **options):
        self.stdout.write(rules_table(), ending="")
