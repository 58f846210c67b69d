"""The relay through the faults issue 16 measured, with real processes: a Celery
worker at the production timings (EVENTS_* defaults: a sweep every 5 s, a lost
message resent after 300 s, 8 attempts from a 2 s backoff, 3 crashes), brokers
and a control Redis of the tests' own, a TCP proxy the test cuts between a
worker and a database, and publishers that die. Where a recovery takes longer
than a test should wait, the test advances the relay's clock (every relay
timestamp moves back: time passing, to the worker's sweep).

* A payload that kills the process delivering it is dead-lettered after
  EVENTS_MAX_CRASHES deaths, and the deliveries that travelled with it are
  delivered at once (it used to kill every worker that took the message, for
  ever, its batch-mates never delivered).
* A subscriber's database down for many minutes spends no attempt: once it is
  back the delivery happens once (it used to be dead-lettered after 8 attempts).
* A publisher killed between commit and hand-over, or a worker killed in the
  middle of a message: each effect still happens exactly once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.db import connections, transaction

from erp import relay
from erp.events import publish
from erp.models import Delivery
from erp.routers import alias_for_app
from tests.erp.event_subscribers import CrossPing, Ping, control, effect_rows, ensure_effects_tables
from tests.proxy import TcpProxy
from tests.worker import ROOT, Worker, advance_relay_clock, database_env, publishing_to, wait_until

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


class Workers:
    """This module's workers, one running at a time: every worker's beat sweeps
    every database, so a second one would deliver behind the test's back (past
    a proxy the test has cut, say)."""

    def __init__(self, tmp_path_factory):
        self.tmp_path_factory = tmp_path_factory
        self.workers: dict[str, Worker] = {}

    def only(self, name: str, broker, **options) -> Worker:
        """Worker ``name`` (created with ``options`` the first time), started
        if need be, the others stopped."""
        for other, worker in self.workers.items():
            if other != name:
                worker.stop()
        if name not in self.workers:
            log = self.tmp_path_factory.mktemp(name) / "worker.log"
            self.workers[name] = Worker(broker.url, log, WORKER_METRICS_PORT="0", **options)
        worker = self.workers[name]
        if not worker.running():
            worker.start()
        return worker

    def stop_all(self) -> None:
        for worker in self.workers.values():
            worker.stop()


@pytest.fixture(scope="module")
def workers(tmp_path_factory, django_db_setup, django_db_blocker):
    pool = Workers(tmp_path_factory)
    yield pool
    pool.stop_all()


@pytest.fixture
def poison_worker(workers, relay_broker):
    """A worker at the production timings, on each broker the relay supports."""
    return workers.only(f"poison-worker-{relay_broker.url.split(':')[0]}", relay_broker)


@pytest.fixture
def worker(workers, broker):
    """A worker at the production timings on this module's Redis broker."""
    return workers.only("worker", broker)


@pytest.fixture(autouse=True)
def clean_slate():
    ensure_effects_tables()
    control().flushdb()
    yield
    control().set("kill-fixed", 1)  # a poison left behind kills no later worker


def publish_together(broker, *events) -> None:
    """One transaction: its deliveries reach the worker in one message."""
    with publishing_to(broker):
        with transaction.atomic():
            for event in events:
                publish(event)
        assert relay.wait_for_handover()


def effects_of(*events) -> list[tuple[str, str, int]]:
    ids = {str(event.event_id) for event in events}
    return sorted(row for row in effect_rows() if row[0] in ids)


def wait_for_effects(events, count: int, timeout: float) -> list[tuple[str, str, int]]:
    wait_until(lambda: len(effects_of(*events)) >= count, timeout, interval=0.2, message=f"{count} effects")
    time.sleep(1.5)  # and no duplicate follows
    return effects_of(*events)


def wait_with_time_passing(done, timeout: float) -> None:
    """Wait for ``done()``; whenever nothing changes for two sweeps, let
    EVENTS_REDELIVER_AFTER_SECONDS pass (a lost message is resent after that)."""
    deadline = time.monotonic() + timeout
    seen, since = None, time.monotonic()
    while time.monotonic() < deadline:
        if done():
            return
        state = sorted(Delivery.objects.values_list("pk", "status", "attempts", "crashes", "enqueued_at"))
        if state != seen:
            seen, since = state, time.monotonic()
        elif time.monotonic() - since > 2 * settings.EVENTS_SWEEP_SECONDS:
            advance_relay_clock(settings.EVENTS_REDELIVER_AFTER_SECONDS)
            since = time.monotonic()
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout}s; deliveries: {seen}")


def deliveries_of(event) -> list[Delivery]:
    return list(Delivery.objects.filter(event_id=event.event_id).order_by("subscriber"))


def settled(event):
    """A predicate: the event's only delivery when no attempt of it is running."""

    def check():
        (delivery,) = deliveries_of(event)
        return delivery if delivery.started_at is None else None

    return check


def kills_of(event, subscriber: str) -> int:
    return int(control().get(f"kills:{event.event_id}:{subscriber}") or 0)


def worker_log(worker: Worker, event_name: str, **fields) -> list[dict]:
    lines = [json.loads(line) for line in worker.log_path.read_text().splitlines() if line.startswith("{")]
    return [
        line
        for line in lines
        if line.get("event") == event_name and all(line.get(k) == v for k, v in fields.items())
    ]


# --- A payload that kills its process --------------------------------------------


def test_a_payload_that_kills_its_process_is_dead_lettered_after_its_crashes_and_its_batch_mates_delivered(
    poison_worker, relay_broker
):
    poison = Ping(n=0, kill=True)  # both subscribers SIGKILL the pool process, every attempt
    mates = [Ping(n=n) for n in range(1, 10)]
    publish_together(relay_broker, poison, *mates)  # the poison's deliveries lead the message

    rows = wait_for_effects(mates, 2 * len(mates), timeout=30)
    assert len(rows) == len(set(rows)) == 2 * len(mates)

    def poison_dead():
        return all(d.status == Delivery.Status.DEAD for d in deliveries_of(poison))

    wait_until(poison_dead, 90, interval=0.5, message="the poison's deliveries dead-lettered")
    for delivery in deliveries_of(poison):
        assert delivery.crashes == settings.EVENTS_MAX_CRASHES
        assert delivery.last_error.startswith("crashed:")
        assert kills_of(poison, delivery.subscriber) == settings.EVENTS_MAX_CRASHES
    assert effects_of(poison) == []


# --- The subscriber's database down for minutes ------------------------------------


@pytest.fixture
def cut_off_worker(workers, broker):
    """A worker that reaches estoque's database (the cross subscriber's) through
    a proxy the test cuts; a quick sweep, so that retries follow the clock the
    test advances. In the one-database run that database is default: the
    worker loses every database at once."""
    alias = alias_for_app("estoque")
    target = connections[alias].settings_dict
    proxy = TcpProxy(target["HOST"] or "127.0.0.1", int(target["PORT"] or 5432))
    worker = workers.only("cut-off-worker", broker, via={alias: proxy.port}, EVENTS_SWEEP_SECONDS="1")
    yield worker, proxy
    worker.stop()  # its proxy goes with it: the next test gets a new one
    del workers.workers["cut-off-worker"]
    proxy.stop()


def test_a_subscribers_database_down_for_many_minutes_spends_no_attempt_and_delivers_once(
    cut_off_worker, broker
):
    worker, proxy = cut_off_worker
    split = alias_for_app("estoque") != "default"
    proxy.cut()
    event = CrossPing(n=1)
    publish_together(broker, event)

    # More retries than a failing subscriber gets (EVENTS_MAX_ATTEMPTS), over
    # more time than its backoff would give it (20+ minutes).
    seen = 0
    for _ in range(settings.EVENTS_MAX_ATTEMPTS + 1):
        if split:  # the delivery is read, its subscriber's database is not: outage retries
            wait_until(
                lambda seen=seen: (
                    len(worker_log(worker, "event_delivery_outage", event_id=str(event.event_id))) > seen
                ),
                30,
                interval=0.2,
                message="an outage retry",
            )
            seen += 1
        else:  # the delivery itself cannot be read: the sweep resends it after the outage
            wait_until(
                lambda: worker_log(worker, "event_deliver_failed", alias="default"), 30, message="a try"
            )
        # The attempt's outcome is recorded just after its log line.
        delivery = wait_until(settled(event), 10, message="the attempt's outcome recorded")
        assert (delivery.status, delivery.attempts) == (Delivery.Status.PENDING, 0)
        advance_relay_clock(150)
    assert effects_of(event) == []

    proxy.restore()
    advance_relay_clock(settings.EVENTS_REDELIVER_AFTER_SECONDS)  # the one-database run's lost message
    rows = wait_for_effects([event], 1, timeout=30)
    assert rows == [(str(event.event_id), "estoque.cross_effect", 1)]
    (delivery,) = deliveries_of(event)
    assert (delivery.status, delivery.outage_since) == (Delivery.Status.DELIVERED, None)
    assert delivery.attempts <= 2


# --- Processes killed at the worst moment ------------------------------------------

PUBLISH_AND_DIE = """
import os, signal, sys
import django
django.setup()
from django.db import transaction
from erp.events import publish
from tests.erp.event_subscribers import Ping

event = Ping(n=1)
with transaction.atomic():
    publish(event)  # its on_commit gives the deliveries to the hand-over thread...
    # ...and this later one kills the process before that thread's linger ends
    transaction.on_commit(lambda: os.kill(os.getpid(), signal.SIGKILL))
    print(event.event_id, flush=True)
"""


def test_a_publisher_killed_between_commit_and_hand_over_is_delivered_once_after_the_redeliver_window(
    worker, broker
):
    env = {
        **os.environ,
        **database_env(),
        "CELERY_BROKER_URL": broker.url,
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    result = subprocess.run(
        [sys.executable, "-c", PUBLISH_AND_DIE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == -9, result.stderr
    event = SimpleNamespace(event_id=uuid.UUID(result.stdout.strip()))
    assert [d.enqueued_at is not None for d in deliveries_of(event)] == [
        True,
        True,
    ]  # committed, "handed over"

    time.sleep(settings.EVENTS_SWEEP_SECONDS + 1)  # a sweep passes: not yet a lost message
    assert effects_of(event) == []
    advance_relay_clock(settings.EVENTS_REDELIVER_AFTER_SECONDS)
    rows = wait_for_effects([event], 2, timeout=2 * settings.EVENTS_SWEEP_SECONDS + 5)
    assert [row[1] for row in rows] == ["tests.effect_a", "tests.effect_b"]


def test_a_worker_killed_in_the_middle_of_a_message_has_each_effect_once(worker, broker):
    events = [Ping(n=n, sleep=3 if n == 3 else 0) for n in range(1, 6)]
    publish_together(broker, *events)  # ten deliveries, one message; the third event's hold it
    held = f"started:{events[2].event_id}:tests.effect_a"
    wait_until(lambda: control().exists(held), 30, message="the held subscriber to start")
    worker.kill()  # the whole worker, pool included: the message stays unacknowledged
    worker.start()
    # Redis gives the message back after its visibility timeout (an hour); the
    # sweep resends what is still pending after EVENTS_REDELIVER_AFTER_SECONDS
    # (made to pass whenever nothing moves for two sweeps).
    wait_with_time_passing(lambda: len(effects_of(*events)) >= 2 * len(events), timeout=90)
    rows = wait_for_effects(events, 2 * len(events), timeout=10)
    assert len(rows) == len(set(rows)) == 2 * len(events)
