"""Prometheus series of the event relay. Counters are per process (web and
workers export their own); the backlog gauges are read from the database when
/metrics is scraped, so any one process reports the whole backlog."""

from django.db import connections
from django.db.models import Min
from django.utils import timezone
from prometheus_client import REGISTRY, Counter
from prometheus_client.core import GaugeMetricFamily

EVENTS_PUBLISHED = Counter("erp_events_published_total", "Events written to the outbox", ["event_type"])
EVENTS_DELIVERED = Counter(
    "erp_events_delivered_total", "Deliveries whose effect committed", ["event_type", "subscriber"]
)
EVENTS_FAILED = Counter("erp_events_failed_total", "Failed delivery attempts", ["event_type", "subscriber"])
EVENTS_DEAD_LETTERED = Counter(
    "erp_events_dead_lettered_total",
    "Deliveries given up after the last attempt",
    ["event_type", "subscriber"],
)
EVENTS_CRASHED = Counter(
    "erp_events_crashed_total",
    "Delivery attempts whose worker process died (killed, out of memory, segfault, hard time limit)",
    ["event_type", "subscriber"],
)
EVENTS_OUTAGE_RETRIES = Counter(
    "erp_events_outage_retries_total",
    "Delivery attempts that met an unreachable database or broker (no attempt spent)",
    ["event_type", "subscriber"],
)
RELAY_DATABASE_ERRORS = Counter(
    "erp_relay_database_errors_total",
    "Relay passes (sweep, prune, replay, delivery) that could not reach a database alias",
    ["database", "operation"],
)


class OutboxBacklogCollector:
    def describe(self):
        # Registration asks for names; answering here keeps the database out of start-up.
        yield GaugeMetricFamily("erp_events_backlog", "Undelivered deliveries", labels=["database", "status"])
        yield GaugeMetricFamily(
            "erp_events_oldest_undelivered_age_seconds",
            "Age of the oldest pending delivery",
            labels=["database"],
        )

    def collect(self):
        from erp.models import Delivery

        backlog = GaugeMetricFamily(
            "erp_events_backlog", "Undelivered deliveries", labels=["database", "status"]
        )
        oldest = GaugeMetricFamily(
            "erp_events_oldest_undelivered_age_seconds",
            "Age of the oldest pending delivery",
            labels=["database"],
        )
        now = timezone.now()
        for alias in connections:
            try:
                pending = Delivery.objects.using(alias).exclude(status=Delivery.Status.DELIVERED)
                for status in (Delivery.Status.PENDING, Delivery.Status.DEAD):
                    backlog.add_metric([alias, status], pending.filter(status=status).count())
                first = pending.filter(status=Delivery.Status.PENDING).aggregate(
                    first=Min("event__created_at")
                )
                oldest.add_metric([alias], (now - first["first"]).total_seconds() if first["first"] else 0)
            except Exception:  # noqa: BLE001, S112 - a scrape must not fail with the database
                continue
        yield backlog
        yield oldest


_registered = False


def register_collectors() -> None:
    global _registered
    if not _registered:
        REGISTRY.register(OutboxBacklogCollector())
        _registered = True
