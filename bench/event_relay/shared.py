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

from erp.events import DomainEvent, ReceivedEvent, subscribe

EVENT_TYPE = "bench.Tick"
SUBSCRIBER = "bench.write_row"

# One row per effect. created_at is the database's clock at the INSERT
# (clock_timestamp(), not now(): now() is the start of the transaction).
# Same host, so it is comparable with the publisher's time.time().
EVENT_EFFECTS = "bench_event_effects"  # relay: one row per delivered Tick
TASK_EFFECTS = "bench_task_effects"  # baseline: one row per bench.insert_row task
MARKERS = "bench_markers"  # baseline: the end-of-run marker after N bench.noop tasks
CREATED_DEFAULT = "extract(epoch from clock_timestamp())"

TABLES_SQL = (
    f"""CREATE TABLE IF NOT EXISTS {EVENT_EFFECTS} (
        event_id uuid PRIMARY KEY,
        published_at double precision NOT NULL,
        created_at double precision NOT NULL DEFAULT {CREATED_DEFAULT})""",
    f"""CREATE TABLE IF NOT EXISTS {TASK_EFFECTS} (
        id bigserial PRIMARY KEY,
        published_at double precision NOT NULL,
        created_at double precision NOT NULL DEFAULT {CREATED_DEFAULT})""",
    f"""CREATE TABLE IF NOT EXISTS {MARKERS} (
        run_id text PRIMARY KEY,
        created_at double precision NOT NULL DEFAULT {CREATED_DEFAULT})""",
)
BENCH_TABLES = (EVENT_EFFECTS, TASK_EFFECTS, MARKERS)
# The relay's own tables, emptied between runs with the benchmark's.
RELAY_TABLES = ("erp_outboxevent", "erp_delivery", "erp_inboxrecord")


@dataclass(frozen=True, kw_only=True)
class Tick(DomainEvent):
    event_type = EVENT_TYPE
    published_at: float  # time.time() in the publisher, just before publish()


@subscribe(EVENT_TYPE, name=SUBSCRIBER)
def write_row(event: ReceivedEvent) -> None:
    """The effect: one INSERT, inside the relay's delivery transaction."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {EVENT_EFFECTS} (event_id, published_at) VALUES (%s, %s)",  # noqa: S608
            [str(event.id), event.payload["published_at"]],
        )
