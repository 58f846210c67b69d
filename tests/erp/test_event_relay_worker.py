"""The relay's guarantees with a real Celery worker process (not eager mode), on
each broker the relay supports (a redis-server and a RabbitMQ node of the
tests' own), on PostgreSQL: each test publishes in committed transactions and
waits (bounded) for the effects the subscribers write.

The worker runs at the production timings (EVENTS_* defaults: a sweep every
5 s, a lost message resent after 300 s, 8 attempts from a 2 s backoff). Where a
recovery takes longer than a test should wait, the test advances the relay's
clock (tests/worker.py advance_relay_clock: every relay timestamp moves back),
which is time passing as far as the worker's sweep can tell."""

import contextlib
import json
import threading
import time
import urllib.request

import pytest
from django.conf import settings
from django.db import connection, transaction

from erp import relay
from erp.events import publish
from erp.models import Delivery
from tests.erp.event_subscribers import Ping, control, effect_rows, ensure_effects_tables
from tests.worker import Worker, advance_relay_clock, free_port, publishing_to, wait_until

# The sweep, replay and prune visit every database (one per app in the split run).
pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


@pytest.fixture(scope="module")
def broker(relay_broker):
    """Each guarantee is proven on both brokers (tests/conftest.py relay_broker)."""
    return relay_broker


@pytest.fixture(scope="module")
def metrics_port():
    return free_port()


@pytest.fixture(scope="module")
def worker(broker, metrics_port, tmp_path_factory, django_db_setup, django_db_blocker):
    workdir = tmp_path_factory.mktemp("worker")
    (workdir / "metrics").mkdir()
    worker = Worker(
        broker.url,
        workdir / "worker.log",
        WORKER_METRICS_PORT=str(metrics_port),
        PROMETHEUS_MULTIPROC_DIR=str(workdir / "metrics"),
    )
    yield worker
    worker.stop()


@pytest.fixture(autouse=True)
def relay_setup(worker, broker):
    """Publish to the real broker from this process; start from a clean slate."""
    with publishing_to(broker):
        ensure_effects_tables()
        control().flushdb()  # the tests' own Redis (tests/conftest.py control_redis)
        if not broker.running():
            broker.resume()
        if not worker.running():
            worker.start()
        yield


def wait_for_effects(count: int, timeout: float = 30) -> list[tuple]:
    wait_until(lambda: len(effect_rows()) >= count, timeout, interval=0.2, message=f"{count} effects")
    time.sleep(1.5)  # and make sure no duplicate follows
    return effect_rows()


def published(**fields) -> Ping:
    event = Ping(**fields)
    with transaction.atomic():
        publish(event)
    return event


def deliveries_of(event: Ping) -> dict[str, Delivery]:
    return {d.subscriber: d for d in Delivery.objects.filter(event_id=event.event_id)}


def seconds_until_next_attempt(event: Ping) -> float | None:
    """When every delivery of ``event`` is waiting for a retry (pending, no
    attempt running, not yet due), how long until the last is due, by the
    database's clock; else None."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT bool_and(status = 'pending' AND started_at IS NULL
                                AND next_attempt_at > statement_timestamp()),
                       extract(epoch FROM max(next_attempt_at) - statement_timestamp())
                FROM {Delivery._meta.db_table} WHERE event_id = %s""",  # noqa: S608 - the model's table
            [event.event_id],
        )
        waiting, seconds = cursor.fetchone()
    return float(seconds) if waiting else None


def wait_for_every_effect(count: int, timeout: float) -> None:
    """Wait for ``count`` effects. Messages the broker lost (a Redis restart
    loses its queue) are resent by the sweep after EVENTS_REDELIVER_AFTER_SECONDS:
    once the backlog has drained (no new effect for two sweeps), that much time
    is made to pass."""
    deadline = time.monotonic() + timeout
    seen, since = -1, time.monotonic()
    while (now := time.monotonic()) < deadline:
        effects = len(effect_rows())
        if effects >= count:
            return
        if effects != seen:
            seen, since = effects, now
        elif now - since > 2 * settings.EVENTS_SWEEP_SECONDS:
            advance_relay_clock(settings.EVENTS_REDELIVER_AFTER_SECONDS)
            since = now
        time.sleep(1)
    deliveries = list(
        Delivery.objects.values_list("subscriber", "status", "attempts", "crashes", "started_at")
    )
    raise AssertionError(
        f"timed out after {timeout}s waiting for {count} effects ({seen} so far): {deliveries}"
    )


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
    assert relay.wait_for_handover()
    assert Delivery.objects.filter(enqueued_at__isnull=True).count() == 2
    time.sleep(2)
    assert effect_rows() == []
    broker.resume()
    rows = wait_for_effects(2, timeout=60)  # the next sweep (every 5 s) sends them
    assert sorted(r[1] for r in rows) == ["tests.effect_a", "tests.effect_b"]
    assert {r[0] for r in rows} == {str(event.event_id)}


def test_subscriber_failing_once_is_retried_with_one_effect():
    event = published(n=5, fail_times=1)
    rows = wait_for_effects(2)  # the first retry is due within 2 s, then the sweep sends it
    assert sorted(r[1] for r in rows) == ["tests.effect_a", "tests.effect_b"]
    attempts = {name: d.attempts for name, d in deliveries_of(event).items()}
    assert attempts == {"tests.effect_a": 2, "tests.effect_b": 2}


def test_the_same_message_delivered_twice_has_one_effect():
    from erp.tasks import deliver_events

    published(n=6)
    wait_for_effects(2)
    delivery = Delivery.objects.get(subscriber="tests.effect_a")
    Delivery.objects.filter(pk=delivery.pk).update(status="pending")  # as if the ack had been lost
    deliver_events.apply_async(args=[[delivery.pk], "default"])
    deliver_events.apply_async(args=[[delivery.pk], "default"])
    wait_until(lambda: Delivery.objects.get(pk=delivery.pk).status == "delivered", 20, message="redelivery")
    time.sleep(1)
    assert len([r for r in effect_rows() if r[1] == "tests.effect_a"]) == 1


def test_poison_event_is_retried_with_backoff_then_dead_lettered_then_replayed_after_a_fix():
    """All EVENTS_MAX_ATTEMPTS attempts, each after its backoff (the clock is
    advanced by what is left of it), then dead; replayed once fixed."""
    from django.core.management import call_command

    event = published(n=7, poison=True)
    waited = []

    def dead_or_advanced() -> bool:
        if set(Delivery.objects.filter(event_id=event.event_id).values_list("status", flat=True)) == {"dead"}:
            return True
        remaining = seconds_until_next_attempt(event)
        if remaining is not None:
            advance_relay_clock(remaining)  # the retries come due; the next sweep sends them
            waited.append(remaining)
        return False

    wait_until(dead_or_advanced, 120, interval=0.3, message="dead-lettered deliveries")
    deliveries = deliveries_of(event)
    assert {name: d.attempts for name, d in deliveries.items()} == {
        "tests.effect_a": settings.EVENTS_MAX_ATTEMPTS,
        "tests.effect_b": settings.EVENTS_MAX_ATTEMPTS,
    }
    assert all("poison event" in d.last_error for d in deliveries.values())
    # Seven waits of at most 2, 4, ... 128 s: dead-lettered within about four
    # minutes of the first attempt (what an operator sees in the admin).
    assert sum(waited) <= sum(2 * 2**k for k in range(settings.EVENTS_MAX_ATTEMPTS - 1))
    assert effect_rows() == []

    control().set("poison-fixed", 1)
    call_command("replay_events", "--event", str(event.event_id))
    rows = wait_for_effects(2)
    assert sorted(r[1] for r in rows) == ["tests.effect_a", "tests.effect_b"]


def test_worker_killed_mid_subscriber_has_the_effect_exactly_once_after_restart(worker):
    event = published(n=8, sleep=3)
    # Both deliveries travel in one message, one after the other: kill the
    # worker while the first one holds its transaction open.
    started = wait_until(
        lambda: [
            name
            for name in ("tests.effect_a", "tests.effect_b")
            if control().exists(f"started:{event.event_id}:{name}")
        ],
        30,
        message="a subscriber to start",
    )
    worker.kill()  # SIGKILL to the whole worker, pool children included
    assert effect_rows() == []  # the open transaction died with the process
    worker.start()
    # RabbitMQ gives the unacknowledged message back at once; Redis only after
    # its visibility timeout, so there the sweep resends it once
    # EVENTS_REDELIVER_AFTER_SECONDS have passed (made to pass when nothing moves).
    wait_for_every_effect(2, timeout=90)
    rows = wait_for_effects(2)
    assert sorted(r[1] for r in rows) == ["tests.effect_a", "tests.effect_b"]
    # The attempt that died is counted as a crash; its batch-mate's is not.
    crashes = {name: d.crashes for name, d in deliveries_of(event).items()}
    assert crashes == {name: int(name in started) for name in ("tests.effect_a", "tests.effect_b")}


def test_worker_exports_event_metrics_and_logs_json_with_task_and_event_ids(worker, metrics_port):
    event = published(n=9)
    wait_for_effects(2)

    def delivered_series():
        body = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).read().decode()
        return [line for line in body.splitlines() if line.startswith("erp_events_delivered_total{")]

    series = wait_until(delivered_series, 10, message="worker metrics")
    for probe in ("healthz", "readyz"):  # what the Kubernetes probes call on this port
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/{probe}", timeout=5) as response:
            assert response.status == 200
    assert any('subscriber="tests.effect_a"' in line and 'event_type="tests.Ping"' in line for line in series)

    lines = [json.loads(line) for line in worker.log_path.read_text().splitlines() if line.startswith("{")]
    delivered = [line for line in lines if line.get("event") == "event_delivered"]
    mine = [line for line in delivered if line.get("event_id") == str(event.event_id)]
    assert len(mine) == 2
    assert all(line.get("task_id") for line in mine)


def test_a_thousand_events_through_a_broker_outage_and_two_worker_kills(worker, broker):
    """1,000 committed events (and 100 rolled back) published over ~40 s while the
    broker is stopped for 30 s and the worker is SIGKILLed twice: every committed
    event has exactly one effect per subscriber; rolled-back ones have none."""
    committed, rolled_back = [], []
    done = threading.Event()

    def publisher():
        try:
            for n in range(1100):
                event = Ping(n=n)
                if n % 11 == 10:
                    with contextlib.suppress(RuntimeError), transaction.atomic():
                        publish(event)
                        raise RuntimeError("rolled back")
                    rolled_back.append(str(event.event_id))
                else:
                    with transaction.atomic():
                        publish(event)
                    committed.append(str(event.event_id))
                time.sleep(0.03)
        finally:
            connection.close()
            done.set()

    thread = threading.Thread(target=publisher)
    thread.start()
    time.sleep(4)
    broker.stop()
    time.sleep(4)
    worker.kill()
    worker.start(wait=False)  # it connects once the broker is back
    time.sleep(22)  # the broker has been down for 30 s
    broker.resume()
    time.sleep(5)
    worker.kill()
    worker.start()
    done.wait(300)
    thread.join()

    assert len(committed) == 1000 and len(rolled_back) == 100
    wait_for_every_effect(2000, timeout=240)
    time.sleep(3)
    rows = effect_rows()
    pairs = [(event_id, subscriber) for event_id, subscriber, _n in rows]
    assert len(pairs) == len(set(pairs)) == 2000, "duplicate effects"
    assert {event_id for event_id, _s in pairs} == set(committed)
    assert not set(rolled_back) & {event_id for event_id, _s in pairs}
