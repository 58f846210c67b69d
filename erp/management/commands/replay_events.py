"""Replay dead-lettered (or stuck) event deliveries after the cause is fixed."""

import uuid

from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from erp import relay


class Command(BaseCommand):
    help = "Put undelivered event deliveries back in the queue: one event, one subscriber, or all dead ones."

    def add_arguments(self, parser):
        parser.add_argument("--event", help="event id (UUID)")
        parser.add_argument("--subscriber", help="subscriber name, e.g. financeiro.invoice_shipped_order")
        parser.add_argument("--all-dead", action="store_true", help="every dead-lettered delivery")
        parser.add_argument("--database", help="only this database alias (default: all)")

    def handle(self, *args, event=None, subscriber=None, all_dead=False, database=None, **options):
        if not (event or subscriber or all_dead):
            raise CommandError("say what to replay: --event, --subscriber and/or --all-dead")
        event_id = None
        if event:
            try:
                event_id = uuid.UUID(event)
            except ValueError as exc:
                raise CommandError(f"--event must be a UUID, got {event!r}") from exc
        aliases = [database] if database else list(connections)
        unknown = set(aliases) - set(connections)
        if unknown:
            raise CommandError(f"unknown database alias: {', '.join(sorted(unknown))}")
        total, failed = relay.replay_everywhere(
            aliases, event_id=event_id, subscriber=subscriber, dead_only=all_dead
        )
        self.stdout.write(f"replayed {total} deliveries")
        if failed:
            # The others were replayed: run it again for these once they answer.
            raise CommandError(f"could not reach database {', '.join(failed)}: nothing replayed there")
