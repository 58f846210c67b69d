"""The relay's guarantees with a real Celery worker process (not eager mode), its
own Redis broker, on PostgreSQL: each test publishes in committed transactions
and waits (bounded) for the effects the subscribers write."""

import time

import pytest
from celery import current_app
from django.db import connection, transaction

from erp.events import publish
from erp.models import Delivery
from tests.erp.event_subscribers import EFFECTS_TABLE, Ping, control
from tests.worker import RedisBroker, Worker, wait_until

pytestmark = pytest.mark.django_db(transaction=True)

WORKER_SETTINGS = {
    "EVENTS_SWEEP_SECONDS": "1",
    "EVENTS_REDELIVER_AFTER_SECONDS": "4",
    "EVENTS_RETRY_BASE_SECONDS": "1",
    "EVENTS_MAX_ATTEMPTS": "3",
    "CELERY_VISIBILITY_TIMEOUT": "3600",  # redelivery comes from the sweep, not Redis
}


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    broker = RedisBroker(tmp_path_factory.mktemp("broker"))
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture(scope="module")
def worker(broker, tmp_path_factory, django_db_setup, django_db_blocker):
    worker = Worker(broker.url, tmp_path_factory.mktemp("worker") / "worker.log", **WORKER_SETTINGS)
    yield worker
    worker.stop()


@pytest.fixture(autouse=True)
def relay_setup(worker, broker, settings):
    """Publish to the real broker from this process; start from a clean slate."""
    settings.EVENTS_MAX_ATTEMPTS = int(WORKER_SETTINGS["EVENTS_MAX_ATTEMPTS"])
    saved = {key: current_app.conf[key] for key in ("task_always_eager", "broker_url")}
    current_app.conf.update(task_always_eager=False, broker_url=broker.url)
    current_app._after_fork()  # drop connection pools bound to another broker
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {EFFECTS_TABLE} (id serial PRIMARY KEY, event_id uuid, subscriber text, n int)"
        )
        cursor.execute(f"TRUNCATE {EFFECTS_TABLE}")
    control().flushdb()
    if broker.process.poll() is not None:
        broker.start()
    if worker.process is None or worker.process.poll() is not None:
        worker.start()
    yield
    current_app.conf.update(saved)
    current_app._after_fork()


def effect_rows() -> list[tuple[str, str, int]]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT event_id::text, subscriber, n FROM {EFFECTS_TABLE}")  # noqa: S608
        return cursor.fetchall()


def wait_for_effects(count: int, timeout: float = 30) -> list[tuple]:
    wait_until(lambda: len(effect_rows()) >= count, timeout, interval=0.2, message=f"{count} effects")
    time.sleep(1.5)  # and make sure no duplicate follows
    return effect_rows()


def published(**fields) -> Ping:
    event = Ping(**fields)
    with transaction.atomic():
        publish(event)
    return event


def test_delivered_once_to_each_of_two_subscribers():
    event = published(n=1)
    rows = wait_for_effects(2)
    assert sorted(rows) == [
        (str(event.event_id), "tests.effect_a", 1),
        (str(event.event_id), "tests.effect_b", 1),
    ]
    wait_until(
        lambda: set(Delivery.objects.values_list("status", flat=True)) == {"delivered"},
        10,
        message="deliveries marked delivered",
    )


def test_rolled_back_transaction_delivers_nothing():
    with pytest.raises(RuntimeError), transaction.atomic():
        publish(Ping(n=2))
        raise RuntimeError("rolled back")
    committed = published(n=3)  # a later committed event proves the worker is alive
    rows = wait_for_effects(2)
    assert {r[0] for r in rows} == {str(committed.event_id)}


def test_broker_down_at_commit_is_delivered_after_it_returns(broker):
    broker.stop()
    event = published(n=4)  # commits; the hand-over fails
    assert Delivery.objects.filter(enqueued_at__isnull=True).count() == 2
    time.sleep(2)
    assert effect_rows() == []
    broker.start()
    rows = wait_for_effects(2, timeout=60)
    assert sorted(r[1] for r in rows) == ["tests.effect_a", "tests.effect_b"]
    assert {r[0] for r in rows} == {str(event.event_id)}


def test_subscriber_failing_once_is_retried_with_one_effect():
    event = published(n=5, fail_times=1)
    rows = wait_for_effects(2)
    assert sorted(r[1] for r in rows) == ["tests.effect_a", "tests.effect_b"]
    attempts = dict(Delivery.objects.filter(event_id=event.event_id).values_list("subscriber", "attempts"))
    assert attempts == {"tests.effect_a": 2, "tests.effect_b": 2}


def test_the_same_message_delivered_twice_has_one_effect():
    from erp.tasks import deliver_event

    published(n=6)
    wait_for_effects(2)
    delivery = Delivery.objects.get(subscriber="tests.effect_a")
    Delivery.objects.filter(pk=delivery.pk).update(status="pending")  # as if the ack had been lost
    deliver_event.apply_async(args=[delivery.pk, "default"])
    deliver_event.apply_async(args=[delivery.pk, "default"])
    wait_until(lambda: Delivery.objects.get(pk=delivery.pk).status == "delivered", 20, message="redelivery")
    time.sleep(1)
    assert len([r for r in effect_rows() if r[1] == "tests.effect_a"]) == 1


def test_poison_event_is_dead_lettered_then_replayed_after_a_fix():
    from django.core.management import call_command

    event = published(n=7, poison=True)
    wait_until(
        lambda: set(Delivery.objects.values_list("status", flat=True)) == {"dead"},
        60,
        message="dead-lettered deliveries",
    )
    assert effect_rows() == []
    control().set("poison-fixed", 1)
    call_command("replay_events", "--event", str(event.event_id))
    rows = wait_for_effects(2)
    assert sorted(r[1] for r in rows) == ["tests.effect_a", "tests.effect_b"]


def test_worker_killed_mid_subscriber_has_the_effect_exactly_once_after_restart(worker):
    event = published(n=8, sleep=3)
    wait_until(
        lambda: control().exists(
            f"started:{event.event_id}:tests.effect_a", f"started:{event.event_id}:tests.effect_b"
        ),
        30,
        message="subscribers to start",
    )
    worker.kill()  # SIGKILL to the whole worker, pool children included
    assert effect_rows() == []  # the open transactions died with the process
    worker.start()
    rows = wait_for_effects(2, timeout=60)
    assert sorted(r[1] for r in rows) == ["tests.effect_a", "tests.effect_b"]
