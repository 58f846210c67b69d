"""Print the event catalogue (Markdown): ``manage.py event_catalogue > docs/events.md``."""

from django.core.management.base import BaseCommand

from erp import catalogue


class Command(BaseCommand):
    help = "Print the Markdown catalogue of domain events and their subscribers (docs/events.md)."
    requires_system_checks = []  # documents the code as it is, even when a check fails

    def handle(self, *args, **options) -> None:
        self.stdout.write(catalogue.render(), ending="")
