"""The relay: outbox → Celery → subscriber, with the inbox making each effect
happen once.

* publish() → signal → :func:`record` writes the event and one Delivery per
  subscriber in the publisher's transaction (one statement on PostgreSQL) and,
  on commit, gives them to the process's hand-over thread (erp/handover.py),
  which sends them to the broker; the request does not wait for the broker. A
  rolled-back transaction leaves nothing, so nothing is sent.
* :func:`deliver` (a Celery task) first counts the attempt in a statement of its
  own, committed before the subscriber runs, under a session lock on the
  delivery that a concurrent attempt cannot take and a dead process gives up.
  Then one transaction marks it delivered, runs the subscriber and inserts
  (event, subscriber) into the subscriber's inbox; a redelivered message finds
  nothing pending, or the inbox row, and has no second effect.
* An attempt that is still "started" when the next one begins died with its
  process (killed, out of memory, segfault, hard time limit): it is counted as
  a crash, not run again in that message, retried alone later, and dead-lettered
  after ``EVENTS_MAX_CRASHES``. Its batch-mates are delivered meanwhile.
* Before the subscriber runs, its schema reads the payload (``event.data``); an
  event of a version it does not understand or a payload that does not fit is
  dead-lettered at once, the reason in ``last_error``: retrying cannot fix it.
* A subscriber's failure is recorded and retried later by :func:`sweep` with
  exponential backoff and jitter; after ``EVENTS_MAX_ATTEMPTS`` the delivery is
  dead-lettered (admin, ``manage.py replay_events``). A database or broker that
  cannot be reached is not the subscriber's failure: the attempt is given back
  and retried every ``EVENTS_OUTAGE_RETRY_SECONDS`` at most, for
  ``EVENTS_OUTAGE_WINDOW_SECONDS``. A subscriber that leaves its transaction
  marked for rollback has failed, whatever it returned.
* :func:`sweep` (beat) also re-sends deliveries never handed to the broker
  (broker down at commit) and those handed over but still pending after
  ``EVENTS_REDELIVER_AFTER_SECONDS`` (a lost message), visiting every database
  on its own so that one it cannot reach holds up none of the others.
* Every relay timestamp is the database's clock, not the process's.
"""

from __future__ import annotations

import contextlib
import json
import random
import time
import traceback
from dataclasses import dataclass
from datetime import timedelta

import structlog
from celery import current_app
from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connections, transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce, Now
from django.dispatch import receiver
from django.utils import timezone

from erp import handover, metrics, sweeper
from erp.events import (
    PayloadMismatchError,
    ReceivedEvent,
    delivered_inline,
    event_published,
    subscription,
    subscriptions_for,
)
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
    delivery_ids = _insert_outbox(using, event, subscribers)
    metrics.EVENTS_PUBLISHED.labels(event.event_type).inc()
    if delivery_ids:
        transaction.on_commit(lambda: _after_commit(delivery_ids, using), using=using, robust=True)


def _after_commit(delivery_ids: list[int], alias: str) -> None:
    if delivered_inline():  # tests and the quick start: deliver now, in this process
        sweeper.ensure_started(sweep)  # the quick start has no beat: failed deliveries retried in-process
        _send_committed(delivery_ids, alias)
    else:
        _handover.submit(delivery_ids, alias)


def _send_committed(delivery_ids: list[int], alias: str) -> int:
    return enqueue(delivery_ids, alias, mark=False)  # record() wrote them "handed over"


def wait_for_handover(timeout: float = 10) -> bool:
    """Block until this process has handed every committed delivery to the broker
    (or failed and left it to the sweep); for tests and scripts."""
    return _handover.flush(timeout)


def _insert_outbox(alias: str, event, subscribers: list[str]) -> list[int]:
    """The event and its deliveries; on PostgreSQL one statement (one round trip,
    no model instances): this runs inside every publishing transaction."""
    connection = connections[alias]
    if connection.vendor != "postgresql":
        now = timezone.now()  # SQLite: the quick start's one process; its clock is the database's
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
                "subscribers": subscribers,
                "pending": Delivery.Status.PENDING,
            },
        )
        return [row[0] for row in cursor.fetchall()]


_INSERT_OUTBOX_SQL = f"""
WITH event AS (
    INSERT INTO {OutboxEvent._meta.db_table} (id, event_type, version, occurred_at, payload, created_at)
    VALUES (%(id)s, %(type)s, %(version)s, %(occurred_at)s, %(payload)s::jsonb, statement_timestamp())
    RETURNING id
)
INSERT INTO {Delivery._meta.db_table}
    (event_id, subscriber, status, attempts, crashes, last_error, enqueued_at, next_attempt_at)
SELECT event.id, subscriber, %(pending)s, 0, 0, '', statement_timestamp(), statement_timestamp()
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
        pending.filter(pk__in=delivery_ids).update(enqueued_at=Now())
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
    return _jittered(ceiling)


def outage_backoff(outage_age: timedelta) -> timedelta:
    """The wait before retrying through an outage: it grows with the outage (about
    half its age so far), capped at EVENTS_OUTAGE_RETRY_SECONDS so that deliveries
    resume soon after the database or broker is back."""
    ceiling = min(
        settings.EVENTS_OUTAGE_RETRY_SECONDS,
        max(settings.EVENTS_RETRY_BASE_SECONDS, outage_age.total_seconds()),
    )
    return _jittered(ceiling)


def _jittered(ceiling: float) -> timedelta:
    return timedelta(seconds=ceiling / 2 + random.uniform(0, ceiling / 2))  # noqa: S311 - jitter, not crypto


# --- Telling an unreachable database or broker from a failing subscriber -------

# SQLSTATE classes that mean the server could not be reached or went away:
# connection exceptions (08…) and the server shutting down or starting (57P01–03).
_OUTAGE_SQLSTATES = ("08", "57P01", "57P02", "57P03")


def is_outage(exc: BaseException) -> bool:
    """True when ``exc`` (or what caused it) is a connection failure to a database
    or broker, as opposed to an error of the subscriber's own making."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if _is_connection_failure(exc):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _is_connection_failure(exc: BaseException) -> bool:
    from kombu.exceptions import OperationalError as BrokerError
    from redis.exceptions import ConnectionError as RedisConnectionError

    if isinstance(exc, (BrokerError, RedisConnectionError, ConnectionError)):
        return True
    if isinstance(exc, InterfaceError):  # "connection already closed"
        return True
    if isinstance(exc, OperationalError):
        sqlstate = getattr(exc.__cause__, "sqlstate", None)
        if sqlstate is None:  # psycopg could not talk to the server at all
            return "psycopg" in type(exc.__cause__).__module__ if exc.__cause__ else False
        return sqlstate.startswith(_OUTAGE_SQLSTATES)
    return False


# --- Delivering --------------------------------------------------------------------


def deliver_many(delivery_ids: list[int], alias: str) -> list[str]:
    """One message's deliveries, in order, each in its own transaction. Past a
    third of the task's soft time limit the rest goes back to the broker, so a
    message of slow subscribers never runs into the limit."""
    deadline = time.monotonic() + settings.CELERY_TASK_SOFT_TIME_LIMIT / 3
    outcomes = []
    try:
        for done, delivery_id in enumerate(delivery_ids):
            if done and time.monotonic() > deadline:
                enqueue(delivery_ids[done:], alias)
                break
            outcome = _deliver(delivery_id, alias)
            outcomes.append(outcome)
            if outcome == UNREACHABLE:  # the rest would fail alike; the sweep resends them
                break
    finally:
        _release_locks(alias)
    return outcomes


UNREACHABLE = "unreachable"


def deliver(delivery_id: int, alias: str) -> str:
    """Run one delivery; returns what happened (for logs and tests): delivered,
    duplicate (the inbox had it), skipped (not pending), busy (another attempt
    holds it), failed (retry scheduled), outage (retry scheduled, no attempt
    spent), deferred (the previous attempt's process died), dead, unreachable
    (its database could not be reached: nothing recorded, the sweep resends)."""
    try:
        return _deliver(delivery_id, alias)
    finally:
        _release_locks(alias)


@dataclass(frozen=True)
class _Taken:
    """An attempt counted and committed, the subscriber not yet run."""

    delivery_id: int
    subscriber: str
    attempts: int  # this attempt included
    started_at: object  # the database's clock when this attempt was counted
    outage_since: object
    event: ReceivedEvent

    @property
    def log(self):
        return logger.bind(
            event_id=str(self.event.id), event_type=self.event.type, subscriber=self.subscriber
        )


def _deliver(delivery_id: int, alias: str) -> str:
    try:
        taken = _claim(alias, delivery_id)
    except DatabaseError as exc:
        if not is_outage(exc):
            raise
        _unreachable(alias, "deliver", exc)
        return UNREACHABLE
    if isinstance(taken, str):
        return taken
    try:
        return _attempt(taken, alias)
    except DatabaseError as exc:  # recording the outcome failed
        if not is_outage(exc):
            raise
        # The attempt stays "started": the next one counts it as a crash, which
        # is what it looks like from the outside.
        _unreachable(alias, "deliver", exc)
        return UNREACHABLE


def _attempt(taken: _Taken, alias: str) -> str:
    try:
        with transaction.atomic(using=alias):
            first_time = _run_subscriber(taken, alias)
        if first_time is None:
            return "skipped"  # replayed or reset meanwhile: that attempt is the one that counts
    except PayloadMismatchError as exc:  # the same payload would fail every time
        return _failed(taken, alias, str(exc), retry=False)
    except Exception as exc:  # noqa: BLE001 - any subscriber error is recorded and retried
        return _failed(taken, alias, traceback.format_exc(limit=20), outage=is_outage(exc))
    if first_time:
        metrics.EVENTS_DELIVERED.labels(taken.event.type, taken.subscriber).inc()
        taken.log.info("event_delivered", attempts=taken.attempts)
        return "delivered"
    taken.log.info("event_already_processed")
    return "duplicate"


class DoomedTransactionError(RuntimeError):
    """The subscriber returned, but its transaction can only roll back."""


def _run_subscriber(taken: _Taken, alias: str) -> bool | None:
    """Inside the attempt's transaction: mark the delivery delivered, then the
    subscriber's effect, once. False when its inbox already has the event, None
    when the delivery changed since the claim (nothing run)."""
    sub = subscription(taken.subscriber)
    if sub is None:
        raise LookupError(f"no subscriber named {taken.subscriber!r} in this process")
    event = sub.receive(taken.event)  # PayloadMismatchError before any effect or inbox row
    target = alias_for_app(sub.app_label)
    if target == alias:
        # The open transaction is the subscriber's (no savepoint, one commit for
        # mark, inbox and effect), and mark and inbox row are one statement.
        marked, first_time = _mark_delivered(alias, taken, inbox=True)
        if marked and first_time:
            _handle(sub, event, alias)
        return first_time if marked else None
    if not _mark_delivered(alias, taken, inbox=False)[0]:
        return None
    with transaction.atomic(using=target):
        first_time = _claim_inbox(target, taken.event.id, taken.subscriber)
        if first_time:
            _handle(sub, event, target, alias)
    return first_time


def _handle(sub, event: ReceivedEvent, *aliases: str) -> None:
    sub.handler(event)
    for used in aliases:
        _refuse_doomed(used)


def _refuse_doomed(alias: str) -> None:
    """Committing now would roll back in silence (PostgreSQL turns COMMIT of a
    failed transaction into ROLLBACK; Django does the same when an inner block
    failed): the effect and the inbox row would vanish while the delivery looked
    done."""
    connection = connections[alias]
    in_error = False
    if connection.vendor == "postgresql" and connection.connection is not None:
        from psycopg import pq

        in_error = connection.connection.info.transaction_status == pq.TransactionStatus.INERROR
    if connection.needs_rollback or in_error:
        raise DoomedTransactionError(
            f"the subscriber returned but its transaction on {alias!r} is marked for rollback "
            "(an error caught without a savepoint: wrap the statement that may fail in its own "
            "transaction.atomic()); nothing it did was committed"
        )


# --- Counting an attempt before it runs ------------------------------------------

# Session advisory locks (two-int key space, apart from the one-bigint keys of
# erp/idempotency.py): held from the claim to the outcome, given up by the
# server when the holding process dies.
_LOCK_NAMESPACE = 0x52454C59  # "RELY"


# The holder of a delivery's lock may be a process that has just been killed:
# its server session ends a moment later, taking the lock with it, but Celery
# requeues the killed process's message at once, and its next attempt can ask
# for the lock within that moment. Answering "busy" then would leave the crash
# unseen until the message counted as lost (EVENTS_REDELIVER_AFTER_SECONDS),
# so an attempt waits up to 5 s for a held lock before it gives way.
_WAIT_FOR_LOCK = "SET LOCAL lock_timeout = '5s'"
_LOCK_NOT_AVAILABLE = "55P03"  # SQLSTATE of a lock_timeout


def _lock_key(delivery_id: int) -> int:
    return (delivery_id & 0xFFFFFFFF) - (1 << 31)  # an int4; ids 2³² apart share a key (harmless: a wait)


def _claim(alias: str, delivery_id: int) -> _Taken | str:
    """Count this attempt and commit that before the subscriber runs, so an
    attempt that kills its process is still counted. Returns the attempt, or
    the outcome when there is nothing to run."""
    if connections[alias].vendor != "postgresql":
        return _claim_portably(alias, delivery_id)
    lock = {"ns": _LOCK_NAMESPACE, "key": _lock_key(delivery_id)}
    claim = {**lock, "id": delivery_id, "pending": "pending"}
    with connections[alias].cursor() as cursor:  # autocommit: the statement commits
        cursor.execute(_CLAIM_SQL, claim)
        locked, crashed, *row = cursor.fetchone()
        if not locked and _waited_for_lock(alias, lock):
            cursor.execute(_CLAIM_SQL, claim)
            locked, crashed, *row = cursor.fetchone()
    if not locked:
        return "busy"  # another attempt of this delivery is running; it records the outcome
    if row[0] is None:
        return _crashed(alias, delivery_id) if crashed else "skipped"
    subscriber, attempts, started_at, outage_since, event_id, event_type, version, occurred_at, payload = row
    event = ReceivedEvent(
        id=event_id,
        type=event_type,
        version=version,
        occurred_at=occurred_at,
        payload=json.loads(payload),  # Django loads jsonb as text, for JSONField to decode
    )
    return _Taken(delivery_id, subscriber, attempts, started_at, outage_since, event)


# The claim's commit need not wait for the WAL flush (synchronous_commit off for
# this statement's transaction alone): it must outlive the worker process, which
# it does once committed, not a crash of the server itself, which would lose at
# most an attempt's count, never an outcome (the outcome's synchronous commit
# flushes the claim before it). That halves the flushes per delivery.
_CLAIM_SQL = f"""
WITH lock AS MATERIALIZED (
    SELECT pg_try_advisory_lock(%(ns)s, %(key)s) AS got
    FROM (SELECT set_config('synchronous_commit', 'off', true)) AS unflushed_commit
),
claimed AS (
    UPDATE {Delivery._meta.db_table} AS d
    SET attempts = d.attempts + 1, started_at = statement_timestamp()
    FROM lock, {OutboxEvent._meta.db_table} AS e
    WHERE lock.got AND d.id = %(id)s AND d.status = %(pending)s AND d.started_at IS NULL AND e.id = d.event_id
    RETURNING d.subscriber, d.attempts, d.started_at, d.outage_since,
              e.id, e.event_type, e.version, e.occurred_at, e.payload
)
SELECT lock.got,
       (SELECT d.started_at IS NOT NULL FROM {Delivery._meta.db_table} AS d
        WHERE lock.got AND d.id = %(id)s AND d.status = %(pending)s),
       claimed.*
FROM lock LEFT JOIN claimed ON true
"""  # noqa: S608 - table names from the models, values as parameters


def _waited_for_lock(alias: str, lock: dict) -> bool:
    """Wait a few seconds for the delivery's session lock; True once this
    session holds it (the claim then takes it once more: the locks nest, and
    the attempt's end gives up all of them)."""
    try:
        with transaction.atomic(using=alias), connections[alias].cursor() as cursor:
            cursor.execute(_WAIT_FOR_LOCK)
            cursor.execute("SELECT pg_advisory_lock(%(ns)s, %(key)s)", lock)
    except OperationalError as exc:
        if getattr(exc.__cause__, "sqlstate", None) != _LOCK_NOT_AVAILABLE:
            raise
        return False
    return True


def _claim_portably(alias: str, delivery_id: int) -> _Taken | str:
    """_claim through the ORM, for SQLite (the quick start: one process, whose
    writes SQLite serialises)."""
    with transaction.atomic(using=alias):
        pending = Delivery.objects.using(alias).filter(pk=delivery_id, status=Delivery.Status.PENDING)
        delivery = pending.select_related("event").first()
        if delivery is None:
            return "skipped"
        if delivery.started_at is not None:
            return _crashed(alias, delivery_id)
        pending.update(attempts=F("attempts") + 1, started_at=Now())
        delivery.refresh_from_db(fields=["attempts", "started_at"])
    outbox = delivery.event
    event = ReceivedEvent(
        id=outbox.id,
        type=outbox.event_type,
        version=outbox.version,
        occurred_at=outbox.occurred_at,
        payload=outbox.payload,
    )
    return _Taken(
        delivery_id, delivery.subscriber, delivery.attempts, delivery.started_at, delivery.outage_since, event
    )


def _release_locks(alias: str) -> None:
    connection = connections[alias]
    if connection.vendor != "postgresql" or connection.connection is None:
        return
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock_all()")
    except DatabaseError:  # a lost connection took its locks with it
        connection.close()


def _crashed(alias: str, delivery_id: int) -> str:
    """The previous attempt was counted but never finished: its process died
    while the subscriber ran. Count the crash and retry later, alone (the sweep
    sends crashed deliveries one per message), or dead-letter it."""
    delivery = Delivery.objects.using(alias).select_related("event").get(pk=delivery_id)
    crashes = delivery.crashes + 1
    log = logger.bind(
        event_id=str(delivery.event_id), event_type=delivery.event.event_type, subscriber=delivery.subscriber
    )
    metrics.EVENTS_CRASHED.labels(delivery.event.event_type, delivery.subscriber).inc()
    died = (
        f"the worker process died during attempt {delivery.attempts} (started {delivery.started_at:%Y-%m-%d %H:%M:%S} "
        "UTC): killed, out of memory, a segfault or past CELERY_TASK_TIME_LIMIT"
    )
    changes = {"crashes": crashes, "started_at": None, "enqueued_at": None}
    if crashes >= settings.EVENTS_MAX_CRASHES:
        changes.update(
            status=Delivery.Status.DEAD,
            last_error=f"crashed: {crashes} attempts ended with their process dying; the last: {died}",
        )
        metrics.EVENTS_DEAD_LETTERED.labels(delivery.event.event_type, delivery.subscriber).inc()
        log.error("event_dead_lettered", reason="crashed", attempts=delivery.attempts, crashes=crashes)
        outcome = "dead"
    else:
        changes.update(last_error=f"crashed: {died}", next_attempt_at=Now() + backoff(crashes))
        log.warning("event_delivery_crashed", attempts=delivery.attempts, crashes=crashes)
        outcome = "deferred"
    Delivery.objects.using(alias).filter(
        pk=delivery_id, status=Delivery.Status.PENDING, started_at=delivery.started_at
    ).update(**changes)
    return outcome


def _mark_delivered(alias: str, taken: _Taken, *, inbox: bool) -> tuple[bool, bool]:
    """Inside the attempt's transaction: locks the row until the outcome commits
    or rolls back. Returns (marked, inbox row inserted): marked is False when the
    delivery changed since the claim; with ``inbox`` the subscriber's inbox row
    (on this database) is inserted in the same statement."""
    connection = connections[alias]
    if connection.vendor != "postgresql":
        marked = _mark_delivered_portably(alias, taken)
        return marked, marked and inbox and _claim_inbox(alias, taken.event.id, taken.subscriber)
    with connection.cursor() as cursor:
        cursor.execute(
            _MARK_AND_INBOX_SQL if inbox else _MARK_SQL,
            {
                "id": taken.delivery_id,
                "attempts": taken.attempts,
                "pending": Delivery.Status.PENDING,
                "delivered": Delivery.Status.DELIVERED,
                "event_id": taken.event.id,
                "subscriber": taken.subscriber,
            },
        )
        marked, inserted = cursor.fetchone()
    return marked, inserted


_MARK = f"""
UPDATE {Delivery._meta.db_table}
SET status = %(delivered)s, delivered_at = statement_timestamp(), started_at = NULL, outage_since = NULL,
    last_error = ''
WHERE id = %(id)s AND status = %(pending)s AND attempts = %(attempts)s
RETURNING id
"""  # noqa: S608 - table names from the models, values as parameters
_MARK_SQL = f"WITH marked AS ({_MARK}) SELECT EXISTS (SELECT FROM marked), false"  # noqa: S608
_MARK_AND_INBOX_SQL = f"""
WITH marked AS ({_MARK}),
inbox AS (
    INSERT INTO {InboxRecord._meta.db_table} (event_id, subscriber, processed_at)
    SELECT %(event_id)s, %(subscriber)s, statement_timestamp() FROM marked
    ON CONFLICT (event_id, subscriber) DO NOTHING
    RETURNING id
)
SELECT EXISTS (SELECT FROM marked), EXISTS (SELECT FROM inbox)
"""  # noqa: S608 - table names from the models, values as parameters


def _mark_delivered_portably(alias: str, taken: _Taken) -> bool:
    changed = (
        Delivery.objects.using(alias)
        .filter(pk=taken.delivery_id, status=Delivery.Status.PENDING, attempts=taken.attempts)
        .update(
            status=Delivery.Status.DELIVERED,
            delivered_at=Now(),
            started_at=None,
            outage_since=None,
            last_error="",
        )
    )
    return changed == 1


def _claim_inbox(alias: str, event_id, subscriber: str) -> bool:
    """Insert the inbox row; False when it exists (a concurrent first attempt
    makes this wait for its outcome: committed means False, rolled back True)."""
    connection = connections[alias]
    if connection.vendor != "postgresql":
        return InboxRecord.objects.using(alias).get_or_create(event_id=event_id, subscriber=subscriber)[1]
    table = connection.ops.quote_name(InboxRecord._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (event_id, subscriber, processed_at) VALUES (%s, %s, statement_timestamp()) "  # noqa: S608
            "ON CONFLICT (event_id, subscriber) DO NOTHING RETURNING id",
            [event_id, subscriber],
        )
        return cursor.fetchone() is not None


def _failed(taken: _Taken, alias: str, error: str, *, retry: bool = True, outage: bool = False) -> str:
    """Record a failed attempt (the mark was rolled back): retry later, or
    dead-letter after the last attempt, or at once when ``retry`` is False. An
    outage gives the attempt back while it lasts less than the outage window."""
    log = taken.log
    summary = error.strip().splitlines()[-1] if error.strip() else error
    changes = {"last_error": error[-10_000:], "enqueued_at": None, "started_at": None}
    outage_since = taken.outage_since or taken.started_at
    if outage and taken.started_at - outage_since < timedelta(seconds=settings.EVENTS_OUTAGE_WINDOW_SECONDS):
        metrics.EVENTS_OUTAGE_RETRIES.labels(taken.event.type, taken.subscriber).inc()
        changes.update(
            attempts=taken.attempts - 1,
            outage_since=Coalesce(F("outage_since"), F("started_at")),
            next_attempt_at=Now() + outage_backoff(taken.started_at - outage_since),
        )
        log.warning(
            "event_delivery_outage",
            attempts=taken.attempts - 1,
            outage_since=str(outage_since),
            error=summary,
        )
        outcome = "outage"
    elif not retry or taken.attempts >= settings.EVENTS_MAX_ATTEMPTS:
        metrics.EVENTS_FAILED.labels(taken.event.type, taken.subscriber).inc()
        changes["status"] = Delivery.Status.DEAD
        metrics.EVENTS_DEAD_LETTERED.labels(taken.event.type, taken.subscriber).inc()
        log.error(
            "event_dead_lettered",
            attempts=taken.attempts,
            reason="attempts_exhausted" if retry else "payload_mismatch",
            error=summary,
        )
        outcome = "dead"
    else:
        metrics.EVENTS_FAILED.labels(taken.event.type, taken.subscriber).inc()
        if not outage:
            changes["outage_since"] = None
        changes["next_attempt_at"] = Now() + backoff(taken.attempts)
        log.warning("event_delivery_failed", attempts=taken.attempts, error=summary)
        outcome = "failed"
    pending = Delivery.objects.using(alias).filter(
        pk=taken.delivery_id, status=Delivery.Status.PENDING, attempts=taken.attempts
    )
    pending.update(**changes)
    return outcome


# --- Sweep, replay, prune: every database on its own ----------------------------


def _unreachable(alias: str, operation: str, exc: BaseException) -> None:
    """Log and count a database the relay could not use, and drop its connection
    (the next use reconnects)."""
    metrics.RELAY_DATABASE_ERRORS.labels(alias, operation).inc()
    logger.error(
        f"event_{operation}_failed",
        alias=alias,
        error=str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__,
    )
    with contextlib.suppress(DatabaseError):  # already broken: nothing more to release
        connections[alias].close()


def _each_alias(operation: str, work) -> tuple[int, list[str]]:
    """Run ``work(alias)`` on every database; one that fails is logged and
    counted, and the others still run. Returns the total and the failed aliases."""
    total, failed = 0, []
    for alias in connections:
        try:
            total += work(alias)
        except Exception as exc:  # noqa: BLE001 - one database must not stop the others
            _unreachable(alias, operation, exc)
            failed.append(alias)
    return total, failed


def due_deliveries(alias: str, limit: int = 1000) -> list[tuple[int, int]]:
    """(id, crashes) of the deliveries to hand over now: due retries, deliveries
    never handed over, and lost messages."""
    lost_before = Now() - timedelta(seconds=settings.EVENTS_REDELIVER_AFTER_SECONDS)
    return list(
        Delivery.objects.using(alias)
        .filter(status=Delivery.Status.PENDING, next_attempt_at__lte=Now())
        .filter(Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=lost_before))
        .order_by("next_attempt_at")
        .values_list("pk", "crashes")[:limit]
    )


def _sweep_alias(alias: str) -> int:
    due = due_deliveries(alias)
    if not due:
        return 0
    logger.info("event_sweep", alias=alias, due=len(due))
    # A delivery whose attempts killed their process goes alone: if it kills the
    # next one too, it takes no batch-mate with it.
    sent = enqueue([pk for pk, crashes in due if not crashes], alias)
    for pk, crashes in due:
        if crashes:
            sent += enqueue([pk], alias)
    return sent


def sweep() -> int:
    """Re-send what is due on every database; returns how many were handed over."""
    return _each_alias("sweep", _sweep_alias)[0]


def replay(*, alias: str, event_id=None, subscriber: str | None = None, dead_only: bool = False) -> int:
    """Put dead (or any undelivered) deliveries back in the queue, attempts,
    crashes and outage reset."""
    deliveries = Delivery.objects.using(alias).exclude(status=Delivery.Status.DELIVERED)
    if dead_only:
        deliveries = deliveries.filter(status=Delivery.Status.DEAD)
    if event_id is not None:
        deliveries = deliveries.filter(event_id=event_id)
    if subscriber is not None:
        deliveries = deliveries.filter(subscriber=subscriber)
    ids = list(deliveries.values_list("pk", flat=True))
    Delivery.objects.using(alias).filter(pk__in=ids).update(
        status=Delivery.Status.PENDING,
        attempts=0,
        crashes=0,
        started_at=None,
        outage_since=None,
        next_attempt_at=Now(),
        enqueued_at=None,
    )
    enqueue(ids, alias)
    return len(ids)


def replay_everywhere(aliases: list[str], **filters) -> tuple[int, list[str]]:
    """:func:`replay` on each alias; returns the total and the aliases that failed."""
    total, failed = 0, []
    for alias in aliases:
        try:
            total += replay(alias=alias, **filters)
        except Exception as exc:  # noqa: BLE001 - one database must not stop the others
            _unreachable(alias, "replay", exc)
            failed.append(alias)
    return total, failed


def _prune_alias(alias: str) -> int:
    cutoff = Now() - timedelta(days=settings.EVENTS_RETENTION_DAYS)
    old = OutboxEvent.objects.using(alias).filter(created_at__lt=cutoff)
    unfinished = Delivery.objects.using(alias).exclude(status=Delivery.Status.DELIVERED)
    removed = old.exclude(pk__in=unfinished.values("event_id")).delete()[0]
    return removed + InboxRecord.objects.using(alias).filter(processed_at__lt=cutoff).delete()[0]


def prune() -> int:
    """Drop fully delivered events and inbox rows older than the retention."""
    return _each_alias("prune", _prune_alias)[0]
