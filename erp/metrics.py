"""Prometheus series of the event relay, and /metrics itself.

Counters are per process; with PROMETHEUS_MULTIPROC_DIR set (gunicorn's
workers, Celery's pool) every process writes them there and one scrape reports
their sum (prometheus_client's multiprocess mode), so a counter never jumps
between scrapes that different workers answered. The backlog gauges come from
the database, at most once per BACKLOG_CACHE_SECONDS for all processes (the
shared cache), not on every scrape."""

import os

from django.core.cache import cache
from django.db import connections
from django.db.models import Min
from django.http import HttpResponse
from django.utils import timezone
from prometheus_client import REGISTRY, CollectorRegistry, Counter, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

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


BACKLOG_CACHE_SECONDS = 15
_BACKLOG_CACHE_KEY = "erp:metrics:backlog"


def _backlog_families(samples: dict) -> list[GaugeMetricFamily]:
    backlog = GaugeMetricFamily("erp_events_backlog", "Undelivered deliveries", labels=["database", "status"])
    oldest = GaugeMetricFamily(
        "erp_events_oldest_undelivered_age_seconds",
        "Age of the oldest pending delivery",
        labels=["database"],
    )
    for labels, value in samples.get("backlog", []):
        backlog.add_metric(labels, value)
    for labels, value in samples.get("oldest", []):
        oldest.add_metric(labels, value)
    return [backlog, oldest]


def _read_backlog() -> dict:
    from erp.models import Delivery

    samples = {"backlog": [], "oldest": []}
    now = timezone.now()
    for alias in connections:
        try:
            pending = Delivery.objects.using(alias).exclude(status=Delivery.Status.DELIVERED)
            counts = [
                ([alias, status], pending.filter(status=status).count())
                for status in (Delivery.Status.PENDING, Delivery.Status.DEAD)
            ]
            first = pending.filter(status=Delivery.Status.PENDING).aggregate(first=Min("event__created_at"))
        except Exception:  # noqa: BLE001, S112 - a scrape must not fail with the database
            continue
        samples["backlog"] += counts
        samples["oldest"].append(([alias], (now - first["first"]).total_seconds() if first["first"] else 0))
    return samples


class OutboxBacklogCollector:
    def describe(self):
        # Registration asks for names; answering here keeps the database out of start-up.
        return _backlog_families({})

    def collect(self):
        samples = cache.get(_BACKLOG_CACHE_KEY)
        if samples is None:
            samples = _read_backlog()
            cache.set(_BACKLOG_CACHE_KEY, samples, BACKLOG_CACHE_SECONDS)
        return _backlog_families(samples)


_registered = False


def register_collectors() -> None:
    global _registered
    if not _registered:
        REGISTRY.register(OutboxBacklogCollector())
        _registered = True


def registry() -> CollectorRegistry:
    """What a scrape reports: every process's series (multiprocess mode) or
    this process's, and the backlog gauges."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        register_collectors()
        return REGISTRY
    shared = CollectorRegistry()
    multiprocess.MultiProcessCollector(shared)
    shared.register(OutboxBacklogCollector())
    return shared


def export(request) -> HttpResponse:
    """GET /metrics (erp.middleware.OpsEndpointsMiddleware)."""
    return HttpResponse(generate_latest(registry()), content_type=CONTENT_TYPE_LATEST)
