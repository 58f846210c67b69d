"""The relay: outbox → Celery → subscriber, with the inbox making each effect
happen once.

* publish() → signal → :func:`record` writes the event and one Delivery per
  subscriber in the publisher's transaction, and asks for :func:`enqueue` on
  commit. A rolled-back transaction leaves nothing, so nothing is sent.
* :func:`deliver` (a Celery task) runs the subscriber in a transaction on the
  subscriber's database that also inserts (event, subscriber) into the inbox; a
  redelivered message finds the inbox row and has no second effect.
* A failure is recorded and retried later by :func:`sweep` with exponential
  backoff and jitter; after ``EVENTS_MAX_ATTEMPTS`` the delivery is dead-lettered
  (admin, ``manage.py replay_events``).
* :func:`sweep` (beat) also re-sends deliveries never handed to the broker
  (broker down at commit) and those handed over but still pending after
  ``EVENTS_REDELIVER_AFTER_SECONDS`` (a lost message).
"""

from __future__ import annotations

import random
import traceback
from datetime import timedelta

import structlog
from django.conf import settings
from django.db import connections, transaction
from django.db.models import Q
from django.dispatch import receiver
from django.utils import timezone

from erp import metrics
from erp.events import ReceivedEvent, event_published, subscription, subscriptions_for
from erp.models import Delivery, InboxRecord, OutboxEvent
from erp.routers import alias_for_app

logger = structlog.get_logger(__name__)
# Reconnect a stale pooled connection, but give up quickly when the broker is
# down: the commit has happened and the sweep will resend.
_PUBLISH_RETRY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}


@receiver(event_published, dispatch_uid="erp.relay.record")
def record(sender, event, using, **kwargs) -> None:
    outbox = OutboxEvent.objects.using(using).create(
        id=event.event_id,
        event_type=event.event_type,
        version=event.version,
        occurred_at=event.occurred_at,
        payload=event.payload(),
    )
    now = timezone.now()
    # Recorded as handed over at commit (saves a write per delivery); a failed
    # hand-over clears enqueued_at so the sweep resends it.
    deliveries = Delivery.objects.using(using).bulk_create(
        Delivery(event=outbox, subscriber=s.name, next_attempt_at=now, enqueued_at=now)
        for s in subscriptions_for(event.event_type)
    )
    metrics.EVENTS_PUBLISHED.labels(event.event_type).inc()
    if deliveries:
        ids = [d.pk for d in deliveries]
        transaction.on_commit(lambda: enqueue(ids, using, mark=False), using=using, robust=True)


def enqueue(delivery_ids: list[int], alias: str, *, mark: bool = True) -> int:
    """Hand deliveries to the broker; a broker failure leaves them for the sweep."""
    from erp.tasks import deliver_event

    pending = Delivery.objects.using(alias).filter(status=Delivery.Status.PENDING)
    if mark:  # before the hand-over: a fast worker's own update must come last
        pending.filter(pk__in=delivery_ids).update(enqueued_at=timezone.now())
    for sent, delivery_id in enumerate(delivery_ids):
        try:
            deliver_event.apply_async(args=[delivery_id, alias], retry=True, retry_policy=_PUBLISH_RETRY)
        except Exception as exc:  # noqa: BLE001 - broker down: the sweep resends
            pending.filter(pk__in=delivery_ids[sent:]).update(enqueued_at=None)
            logger.warning("event_enqueue_failed", delivery_id=delivery_id, alias=alias, error=str(exc))
            return sent
    return len(delivery_ids)


def backoff(attempts: int) -> timedelta:
    """Exponential backoff with equal jitter: half fixed, half random."""
    ceiling = min(settings.EVENTS_RETRY_MAX_SECONDS, settings.EVENTS_RETRY_BASE_SECONDS * 2 ** (attempts - 1))
    return timedelta(seconds=ceiling / 2 + random.uniform(0, ceiling / 2))  # noqa: S311 - jitter, not crypto


def deliver(delivery_id: int, alias: str) -> str:
    """Run one delivery; returns what happened (for logs and tests)."""
    delivery = Delivery.objects.using(alias).select_related("event").filter(pk=delivery_id).first()
    if delivery is None or delivery.status != Delivery.Status.PENDING:
        return "skipped"
    event = delivery.event
    log = logger.bind(event_id=str(event.id), event_type=event.event_type, subscriber=delivery.subscriber)
    sub = subscription(delivery.subscriber)
    if sub is None:
        return _failed(delivery, alias, f"no subscriber named {delivery.subscriber!r} in this process", log)
    received = ReceivedEvent(
        id=event.id,
        type=event.event_type,
        version=event.version,
        occurred_at=event.occurred_at,
        payload=event.payload,
    )
    target = alias_for_app(sub.app_label)
    try:
        with transaction.atomic(using=target):
            first_time = _claim_inbox(target, event.id, delivery.subscriber)
            if first_time:
                sub.handler(received)
            if target == alias:  # one commit for the effect and the bookkeeping
                _mark_delivered(delivery, alias)
    except Exception:  # noqa: BLE001 - any subscriber error is recorded and retried
        return _failed(delivery, alias, traceback.format_exc(limit=20), log)
    if target != alias:
        _mark_delivered(delivery, alias)
    if first_time:
        metrics.EVENTS_DELIVERED.labels(event.event_type, delivery.subscriber).inc()
        log.info("event_delivered", attempts=delivery.attempts + 1)
        return "delivered"
    log.info("event_already_processed")
    return "duplicate"


def _claim_inbox(alias: str, event_id, subscriber: str) -> bool:
    """Insert the inbox row; False when it exists (a concurrent first attempt
    makes this wait for its outcome: committed means False, rolled back True)."""
    connection = connections[alias]
    if connection.vendor != "postgresql":
        return InboxRecord.objects.using(alias).get_or_create(event_id=event_id, subscriber=subscriber)[1]
    table = connection.ops.quote_name(InboxRecord._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (event_id, subscriber, processed_at) VALUES (%s, %s, %s) "  # noqa: S608
            "ON CONFLICT (event_id, subscriber) DO NOTHING RETURNING id",
            [event_id, subscriber, timezone.now()],
        )
        return cursor.fetchone() is not None


def _mark_delivered(delivery: Delivery, alias: str) -> None:
    Delivery.objects.using(alias).filter(pk=delivery.pk).update(
        status=Delivery.Status.DELIVERED,
        delivered_at=timezone.now(),
        attempts=delivery.attempts + 1,
        last_error="",
    )


def _failed(delivery: Delivery, alias: str, error: str, log) -> str:
    attempts = delivery.attempts + 1
    event_type = delivery.event.event_type
    metrics.EVENTS_FAILED.labels(event_type, delivery.subscriber).inc()
    changes = {"attempts": attempts, "last_error": error[-10_000:], "enqueued_at": None}
    if attempts >= settings.EVENTS_MAX_ATTEMPTS:
        changes["status"] = Delivery.Status.DEAD
        metrics.EVENTS_DEAD_LETTERED.labels(event_type, delivery.subscriber).inc()
        log.error("event_dead_lettered", attempts=attempts, error=error.strip().splitlines()[-1])
        outcome = "dead"
    else:
        changes["next_attempt_at"] = timezone.now() + backoff(attempts)
        log.warning("event_delivery_failed", attempts=attempts, error=error.strip().splitlines()[-1])
        outcome = "failed"
    Delivery.objects.using(alias).filter(pk=delivery.pk, status=Delivery.Status.PENDING).update(**changes)
    return outcome


def due_deliveries(alias: str, limit: int = 1000) -> list[int]:
    now = timezone.now()
    lost_before = now - timedelta(seconds=settings.EVENTS_REDELIVER_AFTER_SECONDS)
    return list(
        Delivery.objects.using(alias)
        .filter(status=Delivery.Status.PENDING, next_attempt_at__lte=now)
        .filter(Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=lost_before))
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )


def sweep() -> int:
    """Re-send what is due on every database; returns how many were handed over."""
    sent = 0
    for alias in connections:
        due = due_deliveries(alias)
        if due:
            logger.info("event_sweep", alias=alias, due=len(due))
            sent += enqueue(due, alias)
    return sent


def replay(*, alias: str, event_id=None, subscriber: str | None = None, dead_only: bool = False) -> int:
    """Put dead (or any undelivered) deliveries back in the queue, attempts reset."""
    deliveries = Delivery.objects.using(alias).exclude(status=Delivery.Status.DELIVERED)
    if dead_only:
        deliveries = deliveries.filter(status=Delivery.Status.DEAD)
    if event_id is not None:
        deliveries = deliveries.filter(event_id=event_id)
    if subscriber is not None:
        deliveries = deliveries.filter(subscriber=subscriber)
    ids = list(deliveries.values_list("pk", flat=True))
    Delivery.objects.using(alias).filter(pk__in=ids).update(
        status=Delivery.Status.PENDING, attempts=0, next_attempt_at=timezone.now(), enqueued_at=None
    )
    enqueue(ids, alias)
    return len(ids)


def prune() -> int:
    """Drop fully delivered events and inbox rows older than the retention."""
    cutoff = timezone.now() - timedelta(days=settings.EVENTS_RETENTION_DAYS)
    removed = 0
    for alias in connections:
        old = OutboxEvent.objects.using(alias).filter(created_at__lt=cutoff)
        unfinished = Delivery.objects.using(alias).exclude(status=Delivery.Status.DELIVERED)
        removed += old.exclude(pk__in=unfinished.values("event_id")).delete()[0]
        removed += InboxRecord.objects.using(alias).filter(processed_at__lt=cutoff).delete()[0]
    return removed
