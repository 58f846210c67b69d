"""The relay: outbox → Celery → subscriber, with the inbox making each effect
happen once.

* publish() → signal → :func:`record` writes the event and one Delivery per
  subscriber in the publisher's transaction (one statement on PostgreSQL) and,
  on commit, gives them to the process's hand-over thread (erp/handover.py),
  which sends them to the broker; the request does not wait for the broker. A
  rolled-back transaction leaves nothing, so nothing is sent.
* :func:`deliver` (a Celery task) marks the delivery delivered and runs the
  subscriber in one transaction that also inserts (event, subscriber) into the
  subscriber's inbox; a redelivered message finds nothing pending, or the inbox
  row, and has no second effect.
* Before the subscriber runs, its schema reads the payload (``event.data``); an
  event of a version it does not understand or a payload that does not fit is
  dead-lettered at once, the reason in ``last_error``: retrying cannot fix it.
* A failure is recorded and retried later by :func:`sweep` with exponential
  backoff and jitter; after ``EVENTS_MAX_ATTEMPTS`` the delivery is dead-lettered
  (admin, ``manage.py replay_events``).
* :func:`sweep` (beat) also re-sends deliveries never handed to the broker
  (broker down at commit) and those handed over but still pending after
  ``EVENTS_REDELIVER_AFTER_SECONDS`` (a lost message).
"""

from __future__ import annotations

import json
import random
import time
import traceback
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import timedelta

import structlog
from celery import current_app
from django.conf import settings
from django.db import connections, transaction
from django.db.models import Q
from django.dispatch import receiver
from django.utils import timezone

from erp import handover, metrics
from erp.events import PayloadMismatchError, ReceivedEvent, event_published, subscription, subscriptions_for
from erp.models import Delivery, InboxRecord, OutboxEvent
from erp.routers import alias_for_app

logger = structlog.get_logger(__name__)
# Reconnect a stale pooled connection, but give up quickly when the broker is
# down: the commit has happened and the sweep will resend.
_PUBLISH_RETRY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}
# Deliveries committed close together travel in one message (one broker round
# trip and one task for many; each delivery still has its own transaction).
# Under light load that is one transaction's deliveries; under a backlog, what
# the hand-over thread drained since its last send.
MAX_DELIVERIES_PER_MESSAGE = 50
# The Celery task that runs deliver_many (erp/tasks.py), sent by name: the relay
# does not import its tasks module, which imports the relay.
DELIVER_TASK = "erp.tasks.deliver_events"


@receiver(event_published, dispatch_uid="erp.relay.record")
def record(sender, event, using, **kwargs) -> None:
    subscribers = [s.name for s in subscriptions_for(event.event_type)]
    # Recorded as handed over at commit (saves a write per delivery); a failed
    # hand-over clears enqueued_at so the sweep resends it.
    delivery_ids = _insert_outbox(using, event, subscribers, now=timezone.now())
    metrics.EVENTS_PUBLISHED.labels(event.event_type).inc()
    if delivery_ids:
        transaction.on_commit(lambda: _after_commit(delivery_ids, using), using=using, robust=True)


def _after_commit(delivery_ids: list[int], alias: str) -> None:
    if current_app.conf.task_always_eager:  # tests and the quick start: deliver inline, now
        _send_committed(delivery_ids, alias)
    else:
        _handover.submit(delivery_ids, alias)


def _send_committed(delivery_ids: list[int], alias: str) -> int:
    return enqueue(delivery_ids, alias, mark=False)  # record() wrote them "handed over"


def wait_for_handover(timeout: float = 10) -> bool:
    """Block until this process has handed every committed delivery to the broker
    (or failed and left it to the sweep); for tests and scripts."""
    return _handover.flush(timeout)


def _insert_outbox(alias: str, event, subscribers: list[str], *, now) -> list[int]:
    """The event and its deliveries; on PostgreSQL one statement (one round trip,
    no model instances): this runs inside every publishing transaction."""
    connection = connections[alias]
    if connection.vendor != "postgresql":
        outbox = OutboxEvent.objects.using(alias).create(
            id=event.event_id,
            event_type=event.event_type,
            version=type(event).schema_version(),
            occurred_at=event.occurred_at,
            payload=event.payload(),
            created_at=now,
        )
        deliveries = Delivery.objects.using(alias).bulk_create(
            Delivery(event=outbox, subscriber=name, next_attempt_at=now, enqueued_at=now)
            for name in subscribers
        )
        return [d.pk for d in deliveries]
    with connection.cursor() as cursor:
        cursor.execute(
            _INSERT_OUTBOX_SQL,
            {
                "id": event.event_id,
                "type": event.event_type,
                "version": type(event).schema_version(),
                "occurred_at": event.occurred_at,
                "payload": event.payload_json(),
                "now": now,
                "subscribers": subscribers,
                "pending": Delivery.Status.PENDING,
            },
        )
        return [row[0] for row in cursor.fetchall()]


_INSERT_OUTBOX_SQL = f"""
WITH event AS (
    INSERT INTO {OutboxEvent._meta.db_table} (id, event_type, version, occurred_at, payload, created_at)
    VALUES (%(id)s, %(type)s, %(version)s, %(occurred_at)s, %(payload)s::jsonb, %(now)s)
    RETURNING id
)
INSERT INTO {Delivery._meta.db_table}
    (event_id, subscriber, status, attempts, last_error, enqueued_at, next_attempt_at)
SELECT event.id, subscriber, %(pending)s, 0, '', %(now)s, %(now)s
FROM event, unnest(%(subscribers)s::text[]) AS subscriber
RETURNING id
"""  # noqa: S608 - table names from the models, values as parameters


def enqueue(delivery_ids: list[int], alias: str, *, mark: bool = True) -> int:
    """Hand deliveries to the broker, up to ``MAX_DELIVERIES_PER_MESSAGE`` in a
    message; a broker failure leaves the rest for the sweep. Returns how many
    were handed over."""
    # A signature resolves the task registered under that name, so Celery's eager
    # mode runs it in this process (erp/apps.py imports erp.tasks at start-up).
    deliver_events = current_app.signature(DELIVER_TASK)
    pending = Delivery.objects.using(alias).filter(status=Delivery.Status.PENDING)
    if mark:  # before the hand-over: a fast worker's own update must come last
        pending.filter(pk__in=delivery_ids).update(enqueued_at=timezone.now())
    for start in range(0, len(delivery_ids), MAX_DELIVERIES_PER_MESSAGE):
        chunk = delivery_ids[start : start + MAX_DELIVERIES_PER_MESSAGE]
        try:
            deliver_events.apply_async(args=[chunk, alias], retry=True, retry_policy=_PUBLISH_RETRY)
        except Exception as exc:  # noqa: BLE001 - broker down: the sweep resends
            pending.filter(pk__in=delivery_ids[start:]).update(enqueued_at=None)
            logger.warning(
                "event_enqueue_failed", deliveries=len(delivery_ids) - start, alias=alias, error=str(exc)
            )
            return start
    return len(delivery_ids)


_handover = handover.install(_send_committed)


def backoff(attempts: int) -> timedelta:
    """Exponential backoff with equal jitter: half fixed, half random."""
    ceiling = min(settings.EVENTS_RETRY_MAX_SECONDS, settings.EVENTS_RETRY_BASE_SECONDS * 2 ** (attempts - 1))
    return timedelta(seconds=ceiling / 2 + random.uniform(0, ceiling / 2))  # noqa: S311 - jitter, not crypto


def deliver_many(delivery_ids: list[int], alias: str) -> list[str]:
    """One message's deliveries, in order, each in its own transaction. Past a
    third of the task's soft time limit the rest goes back to the broker, so a
    message of slow subscribers never runs into the limit."""
    deadline = time.monotonic() + settings.CELERY_TASK_SOFT_TIME_LIMIT / 3
    outcomes = []
    for done, delivery_id in enumerate(delivery_ids):
        if done and time.monotonic() > deadline:
            enqueue(delivery_ids[done:], alias)
            break
        outcomes.append(deliver(delivery_id, alias))
    return outcomes


@dataclass(frozen=True)
class _Taken:
    """A delivery taken by this attempt: already marked delivered inside the open
    transaction, which keeps its row locked until the subscriber's outcome."""

    delivery_id: int
    subscriber: str
    attempts: int  # this attempt included
    event: ReceivedEvent

    @property
    def log(self):
        return logger.bind(
            event_id=str(self.event.id), event_type=self.event.type, subscriber=self.subscriber
        )


def deliver(delivery_id: int, alias: str) -> str:
    """Run one delivery; returns what happened (for logs and tests).

    The delivery is marked delivered first, in a transaction that stays open while
    the subscriber runs: a failure rolls the mark back with the effect, and a
    second message for the same delivery waits on the row lock, then finds
    nothing pending. When the subscriber's database is the delivery's, effect,
    inbox row and mark commit together; otherwise the subscriber's own
    transaction commits first, and the inbox absorbs a redelivery if the mark is
    then lost."""
    taken = None
    try:
        with transaction.atomic(using=alias):
            taken = _take(alias, delivery_id)
            if taken is None:
                return "skipped"
            first_time = _run_subscriber(taken, alias)
    except PayloadMismatchError as exc:  # the same payload would fail every time
        if taken is None:
            raise
        return _failed(taken, alias, str(exc), retry=False)
    except Exception:  # any subscriber error is recorded and retried
        if taken is None:
            raise  # the delivery could not even be read: the sweep resends it later
        return _failed(taken, alias, traceback.format_exc(limit=20))
    if first_time:
        metrics.EVENTS_DELIVERED.labels(taken.event.type, taken.subscriber).inc()
        taken.log.info("event_delivered", attempts=taken.attempts)
        return "delivered"
    taken.log.info("event_already_processed")
    return "duplicate"


def _run_subscriber(taken: _Taken, alias: str) -> bool:
    """The subscriber's effect, once: False when its inbox already has the event."""
    sub = subscription(taken.subscriber)
    if sub is None:
        raise LookupError(f"no subscriber named {taken.subscriber!r} in this process")
    event = sub.receive(taken.event)  # PayloadMismatchError before any effect or inbox row
    target = alias_for_app(sub.app_label)
    # On the delivery's own database the open transaction is the subscriber's:
    # no savepoint, one commit for effect, inbox and mark.
    with nullcontext() if target == alias else transaction.atomic(using=target):
        first_time = _claim_inbox(target, taken.event.id, taken.subscriber)
        if first_time:
            sub.handler(event)
    return first_time


def _take(alias: str, delivery_id: int) -> _Taken | None:
    """Mark a pending delivery delivered (locking it) and read its event; None
    when it is not pending (delivered, dead, or unknown)."""
    if connections[alias].vendor != "postgresql":
        return _take_portably(alias, delivery_id)
    with connections[alias].cursor() as cursor:
        cursor.execute(
            _TAKE_SQL,
            {
                "id": delivery_id,
                "now": timezone.now(),
                "pending": Delivery.Status.PENDING,
                "delivered": Delivery.Status.DELIVERED,
            },
        )
        row = cursor.fetchone()
    if row is None:
        return None
    subscriber, attempts, event_id, event_type, version, occurred_at, payload = row
    event = ReceivedEvent(
        id=event_id,
        type=event_type,
        version=version,
        occurred_at=occurred_at,
        payload=json.loads(payload),  # Django loads jsonb as text, for JSONField to decode
    )
    return _Taken(delivery_id=delivery_id, subscriber=subscriber, attempts=attempts, event=event)


def _take_portably(alias: str, delivery_id: int) -> _Taken | None:
    """_take through the ORM, for SQLite (the quick start)."""
    pending = Delivery.objects.using(alias).filter(pk=delivery_id, status=Delivery.Status.PENDING)
    delivery = pending.select_for_update().select_related("event").first()
    if delivery is None:
        return None
    attempts = delivery.attempts + 1
    pending.update(
        status=Delivery.Status.DELIVERED, delivered_at=timezone.now(), attempts=attempts, last_error=""
    )
    outbox = delivery.event
    event = ReceivedEvent(
        id=outbox.id,
        type=outbox.event_type,
        version=outbox.version,
        occurred_at=outbox.occurred_at,
        payload=outbox.payload,
    )
    return _Taken(delivery_id=delivery_id, subscriber=delivery.subscriber, attempts=attempts, event=event)


_TAKE_SQL = f"""
UPDATE {Delivery._meta.db_table} AS d
SET status = %(delivered)s, attempts = d.attempts + 1, delivered_at = %(now)s, last_error = ''
FROM {OutboxEvent._meta.db_table} AS e
WHERE d.id = %(id)s AND d.status = %(pending)s AND e.id = d.event_id
RETURNING d.subscriber, d.attempts, e.id, e.event_type, e.version, e.occurred_at, e.payload
"""  # noqa: S608 - table names from the models, values as parameters


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


def _failed(taken: _Taken, alias: str, error: str, *, retry: bool = True) -> str:
    """Record a failed attempt (the mark was rolled back): retry later, or
    dead-letter after the last attempt, or at once when ``retry`` is False."""
    log = taken.log
    metrics.EVENTS_FAILED.labels(taken.event.type, taken.subscriber).inc()
    changes = {"attempts": taken.attempts, "last_error": error[-10_000:], "enqueued_at": None}
    if not retry or taken.attempts >= settings.EVENTS_MAX_ATTEMPTS:
        changes["status"] = Delivery.Status.DEAD
        metrics.EVENTS_DEAD_LETTERED.labels(taken.event.type, taken.subscriber).inc()
        log.error(
            "event_dead_lettered",
            attempts=taken.attempts,
            reason="attempts_exhausted" if retry else "payload_mismatch",
            error=error.strip().splitlines()[-1],
        )
        outcome = "dead"
    else:
        changes["next_attempt_at"] = timezone.now() + backoff(taken.attempts)
        log.warning("event_delivery_failed", attempts=taken.attempts, error=error.strip().splitlines()[-1])
        outcome = "failed"
    pending = Delivery.objects.using(alias).filter(pk=taken.delivery_id, status=Delivery.Status.PENDING)
    pending.update(**changes)
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
