"""What both sides of the benchmark import: the bench process (publisher) and
the Celery worker (``bench.event_relay.worker_app``).

Subscriptions are per process: ``publish()`` creates one Delivery per subscriber
registered *in the publishing process*, and the worker runs the handler registered
*in its own process* under the same name. Importing this module registers
``bench.write_row`` in both.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection

from bench.event_relay.tables import EVENT_EFFECTS, MARKERS, TASK_EFFECTS
from erp.events import DomainEvent, ReceivedEvent, subscribe

EVENT_TYPE = "bench.Tick"
SUBSCRIBER = "bench.write_row"
__all__ = ["EVENT_EFFECTS", "EVENT_TYPE", "MARKERS", "SUBSCRIBER", "TASK_EFFECTS", "Tick", "write_row"]


@dataclass(frozen=True, kw_only=True)
class Tick(DomainEvent):
    event_type = EVENT_TYPE
    published_at: float  # time.time() in the publisher, just before publish()


@dataclass(frozen=True)
class TickData:
    published_at: float


@subscribe(EVENT_TYPE, name=SUBSCRIBER, schema=TickData)
def write_row(event: ReceivedEvent[TickData]) -> None:
    """The effect: one INSERT, inside the relay's delivery transaction."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {EVENT_EFFECTS} (event_id, published_at) VALUES (%s, %s)",  # noqa: S608
            [str(event.id), event.data.published_at],
        )
