"""Publishing and delivery mechanics in one process (Celery eager), on PostgreSQL.
The guarantees under a real worker, broker outages and kills are in
test_event_relay_worker.py."""

from dataclasses import dataclass
from decimal import Decimal
from uuid import uuid4

import pytest
from django.db import connection, transaction

from erp import relay
from erp.events import DomainEvent, PublishedOutsideTransactionError, publish, subscribe, unsubscribe
from erp.models import Delivery, InboxRecord, OutboxEvent
from tests.erp.event_subscribers import EFFECTS_TABLE, SUBSCRIBERS, Ping, PingData, control

# The sweep, replay and prune visit every database (one per app in the split run).
pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


@pytest.fixture(autouse=True)
def effects_table(django_db_blocker):
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {EFFECTS_TABLE} (id serial PRIMARY KEY, event_id uuid, subscriber text, n int)"
        )
        cursor.execute(f"TRUNCATE {EFFECTS_TABLE}")
    control().flushdb()


def effects(subscriber=None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT event_id::text, subscriber, n FROM {EFFECTS_TABLE} ORDER BY id")  # noqa: S608
        rows = cursor.fetchall()
    return [r for r in rows if subscriber is None or r[1] == subscriber]


def test_publishing_outside_a_transaction_is_an_error():
    with pytest.raises(PublishedOutsideTransactionError):
        publish(Ping(n=1))
    assert not OutboxEvent.objects.exists()


def test_committed_event_reaches_each_subscriber_once():
    with transaction.atomic():
        publish(Ping(n=7))
    assert sorted((sub, n) for _e, sub, n in effects()) == [("tests.effect_a", 7), ("tests.effect_b", 7)]
    assert set(Delivery.objects.values_list("subscriber", "status")) == {
        (s, Delivery.Status.DELIVERED) for s in SUBSCRIBERS
    }
    assert InboxRecord.objects.count() == 2


def test_rolled_back_event_is_never_recorded_nor_delivered():
    with pytest.raises(RuntimeError), transaction.atomic():
        publish(Ping(n=1))
        raise RuntimeError("the change fails")
    assert not OutboxEvent.objects.exists()
    assert effects() == []


def test_the_payload_is_json_with_decimals_and_ids_as_strings():
    @dataclass(frozen=True, kw_only=True)
    class Priced(DomainEvent):
        event_type = "tests.Priced"
        amount: Decimal
        ref: object

    ref = uuid4()
    with transaction.atomic():
        publish(Priced(amount=Decimal("12.50"), ref=ref))
    event = OutboxEvent.objects.get(event_type="tests.Priced")
    assert event.payload == {"amount": "12.50", "ref": str(ref)}
    assert event.version == 1


def test_redelivering_a_delivered_event_has_no_second_effect():
    with transaction.atomic():
        publish(Ping(n=3))
    delivery = Delivery.objects.get(subscriber="tests.effect_a")
    Delivery.objects.filter(pk=delivery.pk).update(status=Delivery.Status.PENDING)  # as if the ack was lost
    assert relay.deliver(delivery.pk, "default") == "duplicate"
    assert len(effects("tests.effect_a")) == 1


def test_a_failing_subscriber_is_retried_later_with_its_effect_once(settings):
    with transaction.atomic():
        publish(Ping(n=4, fail_times=1))
    failed = Delivery.objects.get(subscriber="tests.effect_a")
    assert (failed.status, failed.attempts) == (Delivery.Status.PENDING, 1)
    assert "planned failure" in failed.last_error
    assert failed.next_attempt_at > failed.event.created_at
    assert effects("tests.effect_a") == []

    Delivery.objects.update(next_attempt_at=failed.event.created_at)  # the backoff has passed
    assert relay.sweep() >= 1
    assert len(effects("tests.effect_a")) == 1
    assert Delivery.objects.get(pk=failed.pk).status == Delivery.Status.DELIVERED


def test_backoff_grows_exponentially_with_jitter_and_is_capped(settings):
    settings.EVENTS_RETRY_BASE_SECONDS, settings.EVENTS_RETRY_MAX_SECONDS = 2, 60
    for attempts, ceiling in [(1, 2), (2, 4), (3, 8), (10, 60)]:
        delays = {relay.backoff(attempts).total_seconds() for _ in range(20)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(delays) > 1  # jitter


def test_poison_event_is_dead_lettered_then_replayed_after_a_fix(settings):
    settings.EVENTS_MAX_ATTEMPTS = 2
    with transaction.atomic():
        publish(Ping(n=5, poison=True))
    event_id = OutboxEvent.objects.get().id
    Delivery.objects.update(next_attempt_at=OutboxEvent.objects.get().created_at)
    relay.sweep()
    assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.Status.DEAD}
    assert effects() == []

    control().set("poison-fixed", 1)
    assert relay.replay(alias="default", event_id=event_id, subscriber="tests.effect_a") == 1
    assert [sub for _e, sub, _n in effects()] == ["tests.effect_a"]
    assert relay.replay(alias="default", dead_only=True) == 1
    assert sorted(sub for _e, sub, _n in effects()) == ["tests.effect_a", "tests.effect_b"]


def test_an_event_nobody_subscribes_to_is_kept_but_sends_nothing():
    @dataclass(frozen=True, kw_only=True)
    class Lonely(DomainEvent):
        event_type = "tests.Lonely"

    with transaction.atomic():
        publish(Lonely())
    assert OutboxEvent.objects.filter(event_type="tests.Lonely").exists()
    assert not Delivery.objects.exists()


def test_a_second_registration_under_the_same_name_is_refused():
    @subscribe("tests.Ping", name="tests.once", schema=PingData)
    def first(event):
        pass

    try:
        with pytest.raises(Exception, match="already registered"):
            subscribe("tests.Ping", name="tests.once", schema=PingData)(lambda event: None)
    finally:
        unsubscribe("tests.once")


def test_prune_keeps_undelivered_events(settings):
    with transaction.atomic():
        publish(Ping(n=1))
        publish(Ping(n=2, poison=True))
    settings.EVENTS_RETENTION_DAYS = 0
    relay.prune()
    remaining = OutboxEvent.objects.get()
    assert remaining.payload["poison"] is True
    assert not InboxRecord.objects.exclude(event_id=remaining.id).exists()


def test_a_message_past_its_time_budget_hands_the_rest_back_to_the_broker(settings):
    from celery.signals import task_prerun

    runs = []

    def count(sender=None, **kwargs):
        if sender is not None and sender.name == "erp.tasks.deliver_events":
            runs.append(kwargs["args"][0])

    task_prerun.connect(count, weak=False)
    settings.CELERY_TASK_SOFT_TIME_LIMIT = 0  # every delivery uses up the budget
    try:
        with transaction.atomic():
            for n in range(3):
                publish(Ping(n=n))
    finally:
        task_prerun.disconnect(count)
    # Per event one message with its two deliveries; the second goes back to the
    # broker as a message of its own.
    assert [len(ids) for ids in runs] == [2, 1, 2, 1, 2, 1]
    assert len(effects("tests.effect_a")) == len(effects("tests.effect_b")) == 3
    assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.Status.DELIVERED}
