"""How the relay counts an attempt, in this process on real PostgreSQL, for a
subscriber of another app (``estoque.…``): on its own database in the split run,
on the delivery's in the one-database run.

* A subscriber that leaves its transaction doomed has failed, on either database (issue 16: in the
  split run such deliveries were counted delivered with neither effect nor inbox
  row).
* A database the subscriber cannot reach spends no attempt while the outage
  lasts (issue 16: deliveries were dead-lettered after 8 attempts in 127–254 s),
  and spends them again once it outlasts EVENTS_OUTAGE_WINDOW_SECONDS.
* relay.is_outage() on real exceptions: connection failures are outages; the
  subscriber's own SQL errors, unique violations and deadlocks are not.
* A database that refuses connections, visited first, stops no sweep, prune or
  replay of the others (issue 16: the sweep stopped at the first database it
  could not reach), and is named in the log and the metric.
* Two first attempts of one delivery at once run the subscriber once.
* An attempt that finds the delivery locked by a process killed a moment ago
  waits for that session to end and counts the crash (issue 20's CI: it
  answered "busy", and the crash went unseen until the message counted as lost).

And the README's retry arithmetic is the formula's.
"""

from __future__ import annotations

import contextlib
import threading
import types
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
import redis
import structlog
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import DatabaseError, IntegrityError, connections, transaction
from django.db.models import F
from django.db.models.functions import Now
from django.db.utils import load_backend
from kombu import Connection
from prometheus_client import REGISTRY

from erp import relay
from erp.events import DomainEvent, ReceivedEvent, publish, subscribe
from erp.models import Delivery, InboxRecord
from erp.routers import alias_for_app
from tests.worker import free_port

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")

SUBSCRIBER = "estoque.tests_attempts"
MINUTE = timedelta(minutes=1)
EFFECTS = "test_attempt_effects"
README = Path(__file__).resolve().parents[2] / "README.md"


HERE = "tests.tests_attempts_here"  # the same subscriber, on the delivery's own database


def target(subscriber: str = SUBSCRIBER) -> str:
    """A subscriber's database: its app's alias (estoque's in the split run), else default."""
    return alias_for_app(subscriber.split(".", 1)[0])


@dataclass(frozen=True, kw_only=True)
class Attempted(DomainEvent):
    event_type = "tests.Attempted"
    how: str  # what the subscriber does besides writing its effect; see on_attempted


@dataclass(frozen=True, kw_only=True)
class AttemptedHere(Attempted):
    event_type = "tests.AttemptedHere"


def subscriber_of(event: Attempted) -> str:
    return HERE if isinstance(event, AttemptedHere) else SUBSCRIBER


@dataclass(frozen=True)
class AttemptedData:
    how: str


class Subscriber:
    """What the test tells the subscriber (same process, other threads too)."""

    reachable = threading.Event()  # its other database answers
    started = threading.Event()  # a "hold" attempt is inside the subscriber
    release = threading.Event()  # and may finish


def session(*, port: int | None = None, alias: str = "session"):
    """A connection of its own to the test database (on ``port`` instead, if given)."""
    settings_dict = dict(connections["default"].settings_dict)
    if port is not None:
        settings_dict["PORT"] = str(port)
    return load_backend(settings_dict["ENGINE"]).DatabaseWrapper(settings_dict, alias=alias)


def refused_database():
    """The test database's server on a port nothing listens on."""
    return session(port=free_port())


@subscribe("tests.Attempted", name=SUBSCRIBER, schema=AttemptedData)
def on_attempted(event: ReceivedEvent[AttemptedData]) -> None:
    attempt(event, target(SUBSCRIBER))


@subscribe("tests.AttemptedHere", name=HERE, schema=AttemptedData)
def on_attempted_here(event: ReceivedEvent[AttemptedData]) -> None:
    attempt(event, target(HERE))


def attempt(event: ReceivedEvent[AttemptedData], alias: str) -> None:
    how = event.data.how
    insert = f"INSERT INTO {EFFECTS} (event_id) VALUES (%s)"  # noqa: S608 - the test's own table
    with connections[alias].cursor() as cursor:
        cursor.execute(insert, [event.id])
        if how == "integrity":  # "already done?" by catching the violation, without a savepoint
            with contextlib.suppress(IntegrityError):
                cursor.execute(insert, [event.id])
    if how == "inner_atomic":  # an inner block without a savepoint failed and was caught
        with contextlib.suppress(ValueError), transaction.atomic(using=alias, savepoint=False):
            raise ValueError("inner block failed")
    elif how == "unreachable" and not Subscriber.reachable.is_set():
        refused_database().ensure_connection()  # a real "connection refused"
    elif how == "hold":
        Subscriber.started.set()
        Subscriber.release.wait(10)


@pytest.fixture(autouse=True)
def clean_slate():
    for alias in {target(SUBSCRIBER), target(HERE)}:
        with connections[alias].cursor() as cursor:
            cursor.execute(f"CREATE TABLE IF NOT EXISTS {EFFECTS} (event_id uuid PRIMARY KEY)")
            cursor.execute(f"TRUNCATE {EFFECTS}")
    for flag in (Subscriber.reachable, Subscriber.started, Subscriber.release):
        flag.clear()
    yield
    Subscriber.release.set()  # never leave a held attempt behind


def published(how: str, kind: type[Attempted] = Attempted) -> Attempted:
    """Publish and commit; the first attempt runs at commit (Celery eager)."""
    event = kind(how=how)
    with transaction.atomic():
        publish(event)
    return event


def delivery_of(event: Attempted) -> Delivery:
    return Delivery.objects.get(event_id=event.event_id, subscriber=subscriber_of(event))


def effects_of(event: Attempted) -> int:
    with connections[target(subscriber_of(event))].cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {EFFECTS} WHERE event_id = %s", [event.event_id])  # noqa: S608
        return cursor.fetchone()[0]


def inbox_has(event: Attempted) -> bool:
    subscriber = subscriber_of(event)
    inbox = InboxRecord.objects.using(target(subscriber))
    return inbox.filter(event_id=event.event_id, subscriber=subscriber).exists()


# --- A doomed transaction ------------------------------------------------------------


@pytest.mark.parametrize("how", ["integrity", "inner_atomic"])
@pytest.mark.parametrize(
    "kind",
    [
        # In the split run, its own app's database: such deliveries used to be
        # counted delivered with neither effect nor inbox row.
        pytest.param(Attempted, id="subscriber_on_its_apps_database"),
        # The delivery's database: such a delivery used to re-run for ever,
        # logging event_delivered each time (the attempt rolled back with it).
        pytest.param(AttemptedHere, id="subscriber_on_the_deliverys_database"),
    ],
)
def test_a_doomed_transaction_fails_and_is_dead_lettered_at_the_last_attempt(kind, how):
    with structlog.testing.capture_logs() as logs:
        event = published(how, kind)
    delivery = delivery_of(event)
    assert (delivery.status, delivery.attempts) == (Delivery.Status.PENDING, 1)
    assert "marked for rollback" in delivery.last_error
    assert (effects_of(event), inbox_has(event)) == (0, False)
    assert not [line for line in logs if line["event"] == "event_delivered"]

    outcomes = [relay.deliver(delivery.pk, "default") for _ in range(settings.EVENTS_MAX_ATTEMPTS - 1)]
    assert outcomes == ["failed"] * (settings.EVENTS_MAX_ATTEMPTS - 2) + ["dead"]
    delivery = delivery_of(event)
    assert (delivery.status, delivery.attempts) == (Delivery.Status.DEAD, settings.EVENTS_MAX_ATTEMPTS)
    assert (effects_of(event), inbox_has(event)) == (0, False)


# --- An outage of the subscriber's database -----------------------------------------


def test_an_unreachable_database_spends_no_attempt_while_the_outage_lasts():
    event = published("unreachable")
    first = delivery_of(event)
    assert (first.status, first.attempts) == (Delivery.Status.PENDING, 0)
    assert first.outage_since is not None
    assert "Connection refused" in first.last_error
    retry_within = timedelta(seconds=settings.EVENTS_OUTAGE_RETRY_SECONDS)
    assert first.next_attempt_at <= first.outage_since + retry_within

    # More retries than a subscriber's error gets before it is dead-lettered.
    outcomes = {relay.deliver(first.pk, "default") for _ in range(settings.EVENTS_MAX_ATTEMPTS + 2)}
    assert outcomes == {"outage"}
    during = delivery_of(event)
    assert (during.status, during.attempts, during.outage_since) == (
        Delivery.Status.PENDING,
        0,
        first.outage_since,
    )
    assert during.next_attempt_at <= timezone_now(during) + retry_within

    Subscriber.reachable.set()
    assert relay.deliver(first.pk, "default") == "delivered"
    after = delivery_of(event)
    assert (after.status, after.attempts, after.outage_since) == (Delivery.Status.DELIVERED, 1, None)
    assert (effects_of(event), inbox_has(event)) == (1, True)


def timezone_now(delivery: Delivery):
    """The database's clock, which the relay's timestamps use."""
    with connections[delivery._state.db].cursor() as cursor:
        cursor.execute("SELECT statement_timestamp()")
        return cursor.fetchone()[0]


def test_an_outage_longer_than_the_window_spends_attempts_again():
    event = published("unreachable")
    assert delivery_of(event).outage_since is not None
    # The outage began a whole window ago (the database's clock, moved back).
    window = timedelta(seconds=settings.EVENTS_OUTAGE_WINDOW_SECONDS)
    Delivery.objects.filter(pk=delivery_of(event).pk).update(outage_since=F("outage_since") - window)
    assert relay.deliver(delivery_of(event).pk, "default") == "failed"
    assert delivery_of(event).attempts == 1


# --- Which exceptions are outages ---------------------------------------------------


def caught(action) -> BaseException:
    try:
        action()
    except Exception as exc:  # noqa: BLE001 - the exception is what the test looks at
        return exc
    raise AssertionError(f"{action.__name__} raised nothing")


def refused_by_postgresql():
    refused_database().ensure_connection()


def terminated_by_postgresql():
    """The server ends a session (a restart or failover does that to every one)."""
    victim = session()
    try:
        with victim.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pid = cursor.fetchone()[0]
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        with victim.cursor() as cursor:
            cursor.execute("SELECT 1")
    finally:
        with contextlib.suppress(DatabaseError):
            victim.close()


def unique_violation():
    row = "INSERT INTO erp_inboxrecord (event_id, subscriber, processed_at) VALUES (%s, 'tests.twice', now())"
    with connections["default"].cursor() as cursor:
        event_id = Attempted(how="ok").event_id
        cursor.execute(row, [event_id])
        cursor.execute(row, [event_id])


def sql_error():
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT no_such_column FROM erp_delivery")


def deadlock():
    """Two sessions each wait for the other's lock; PostgreSQL ends one of them."""
    key = free_port()  # a number no other test locks
    both_hold = threading.Barrier(2, timeout=10)
    errors = []

    def lock(first: int, then: int) -> None:
        own = session()  # a connection belongs to the thread that opened it
        try:
            own.set_autocommit(False)
            with own.cursor() as cursor:
                cursor.execute("SET deadlock_timeout = '100ms'")
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [first])
                both_hold.wait()
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [then])
        except DatabaseError as exc:
            errors.append(exc)
        finally:
            with contextlib.suppress(DatabaseError):
                own.rollback()  # gives up its locks: the other session goes on
            own.close()

    threads = [threading.Thread(target=lock, args=pair) for pair in ((key, key + 1), (key + 1, key))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    (error,) = errors
    raise error


def refused_by_the_broker():
    Connection(f"amqp://guest:guest@127.0.0.1:{free_port()}//", connect_timeout=1).ensure_connection(
        max_retries=1, interval_start=0
    )


def refused_by_redis():
    redis.Redis(port=free_port(), socket_connect_timeout=1).ping()


OUTAGES = [refused_by_postgresql, terminated_by_postgresql, refused_by_the_broker, refused_by_redis]
NOT_OUTAGES = [unique_violation, sql_error, deadlock]


@pytest.mark.parametrize(
    ("action", "outage"),
    [pytest.param(action, True, id=action.__name__) for action in OUTAGES]
    + [pytest.param(action, False, id=action.__name__) for action in NOT_OUTAGES],
)
def test_only_a_connection_failure_is_an_outage(action, outage):
    assert relay.is_outage(caught(action)) is outage


# --- A database that refuses connections, visited before the others -------------------


def connect_for_real(wrapper) -> None:
    """What Django's ensure_connection does, without the test runner's guards."""
    if wrapper.connection is None:
        with wrapper.wrap_database_errors:
            wrapper.connect()


@pytest.fixture
def refusing_alias_first(monkeypatch):
    """A database alias whose server refuses connections, first in the order the
    relay visits them (default and, in the split run, the apps' come after)."""
    alias = "refusing"
    refusing = session(port=free_port(), alias=alias)
    # The test runner wraps ensure_connection to refuse an alias it did not set
    # up (DatabaseOperationForbidden, which the relay would log just the same):
    # this one connects for real, to be refused by the operating system.
    refusing.ensure_connection = types.MethodType(connect_for_real, refusing)
    monkeypatch.setattr(connections, "settings", {alias: refusing.settings_dict, **connections.settings})
    connections[alias] = refusing
    yield alias
    monkeypatch.undo()
    with contextlib.suppress(AttributeError):
        del connections[alias]


def database_errors(alias: str, operation: str) -> float:
    labels = {"database": alias, "operation": operation}
    return REGISTRY.get_sample_value("erp_relay_database_errors_total", labels) or 0


def test_a_database_that_refuses_connections_stops_no_sweep_or_prune_of_the_others(refusing_alias_first):
    event = published("unreachable")  # an outage at commit: the sweep retries it
    Delivery.objects.filter(pk=delivery_of(event).pk).update(next_attempt_at=F("next_attempt_at") - MINUTE)
    Subscriber.reachable.set()
    before = database_errors(refusing_alias_first, "sweep"), database_errors(refusing_alias_first, "prune")
    with structlog.testing.capture_logs() as logs:
        assert relay.sweep() == 1
        relay.prune()
    assert delivery_of(event).status == Delivery.Status.DELIVERED
    after = database_errors(refusing_alias_first, "sweep"), database_errors(refusing_alias_first, "prune")
    assert after == (before[0] + 1, before[1] + 1)
    failed = [line for line in logs if line["event"].endswith("_failed")]
    assert {(line["event"], line["alias"]) for line in failed} == {
        ("event_sweep_failed", refusing_alias_first),
        ("event_prune_failed", refusing_alias_first),
    }
    assert all("Connection refused" in line["error"] for line in failed)  # a real refusal


def test_replay_goes_on_past_a_database_that_refuses_connections_and_names_it(refusing_alias_first):
    event = published("unreachable")
    # Unreachable for longer than the outage window: its attempts ran out.
    window = timedelta(seconds=settings.EVENTS_OUTAGE_WINDOW_SECONDS)
    Delivery.objects.filter(pk=delivery_of(event).pk).update(outage_since=F("outage_since") - window)
    while relay.deliver(delivery_of(event).pk, "default") != "dead":
        pass
    Subscriber.reachable.set()  # back: the operator replays what was dead-lettered
    before = database_errors(refusing_alias_first, "replay")
    with pytest.raises(CommandError, match=f"could not reach database {refusing_alias_first}"):
        call_command("replay_events", "--all-dead")
    assert database_errors(refusing_alias_first, "replay") == before + 1
    delivery = delivery_of(event)
    assert (delivery.status, delivery.attempts) == (Delivery.Status.DELIVERED, 1)
    assert effects_of(event) == 1


# --- Two first attempts at once -------------------------------------------------------


def test_two_first_attempts_of_one_delivery_at_once_have_one_effect_and_spend_one_attempt():
    event = Attempted(how="hold")
    second = {}

    def publish_and_attempt():  # the commit runs the first attempt, held in the subscriber
        try:
            with transaction.atomic():
                publish(event)
        finally:
            connections.close_all()

    def attempt_again():
        try:
            second["outcome"] = relay.deliver(delivery_of(event).pk, "default")
        finally:
            connections.close_all()

    first = threading.Thread(target=publish_and_attempt)
    first.start()
    assert Subscriber.started.wait(10)
    other = threading.Thread(target=attempt_again)
    other.start()
    other.join(3)  # one that waits for the first attempt's outcome ends once it is released
    Subscriber.release.set()
    first.join(10)
    other.join(10)

    assert second["outcome"] in {"busy", "skipped"}
    delivery = delivery_of(event)
    assert (delivery.status, delivery.attempts) == (Delivery.Status.DELIVERED, 1)
    assert effects_of(event) == 1


# --- The lock of an attempt whose process was just killed ------------------------------


def holding_the_lock_of(delivery: Delivery):
    """A session of its own holding the delivery's attempt lock, as an attempt does."""
    holder = session()
    with holder.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_lock(%s, %s)", [relay._LOCK_NAMESPACE, relay._lock_key(delivery.pk)]
        )
    return holder


def test_an_attempt_finding_the_lock_of_a_process_just_killed_waits_for_it_and_counts_the_crash():
    event = published("integrity")  # the first attempt failed: pending, a retry due
    delivery = delivery_of(event)
    dying = holding_the_lock_of(delivery)  # the killed worker process's server session, not yet ended
    Delivery.objects.filter(pk=delivery.pk).update(attempts=F("attempts") + 1, started_at=Now())
    session_ends = threading.Timer(0.5, dying.connection.close)  # the server notices the dead client
    session_ends.start()
    try:
        outcome = relay.deliver(delivery.pk, "default")  # the requeued message, at once
    finally:
        session_ends.join()

    assert outcome == "deferred"  # not "busy", which left the crash unseen until the message was lost
    delivery = delivery_of(event)
    assert (delivery.crashes, delivery.started_at, delivery.enqueued_at) == (1, None, None)
    assert delivery.last_error.startswith("crashed:")
    assert effects_of(event) == 0


def test_an_attempt_gives_way_to_one_that_holds_the_lock_longer_than_a_dying_process_would():
    event = published("integrity")
    delivery = delivery_of(event)
    running = holding_the_lock_of(delivery)  # an attempt still running in a live process
    try:
        # After its wait it gives way: the holder records the outcome.
        assert relay.deliver(delivery.pk, "default") == "busy"
    finally:
        running.close()
    assert delivery_of(event).attempts == delivery.attempts  # no attempt spent


# --- The README ---------------------------------------------------------------------


def test_the_readme_states_the_retry_arithmetic_of_the_default_settings():
    ceilings = [
        min(settings.EVENTS_RETRY_MAX_SECONDS, settings.EVENTS_RETRY_BASE_SECONDS * 2 ** (n - 1))
        for n in range(1, settings.EVENTS_MAX_ATTEMPTS)
    ]
    assert ceilings == [2, 4, 8, 16, 32, 64, 128]  # the defaults the README describes
    longest = sum(ceilings)
    assert f"**{longest // 2}–{longest} s**" in README.read_text()
    waits = [relay.backoff(n).total_seconds() for n in range(1, settings.EVENTS_MAX_ATTEMPTS)]
    assert longest / 2 <= sum(waits) <= longest
