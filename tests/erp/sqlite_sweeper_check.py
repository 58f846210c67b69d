"""Run by test_quickstart_relay.py in a process of its own, on SQLite with Celery
eager (the quick start's defaults), to show who retries a failed delivery there.

    retry     EVENTS_EMBEDDED_SWEEP on: the first attempt fails; the process's
              sweeper thread retries it while a slow request holds the database.
    disabled  EVENTS_EMBEDDED_SWEEP off: the first attempt fails and no thread
              retries it (the delivery is left for the next run).
    restart   on, after `disabled` on the same database: the first request of a
              new process starts the sweeper, which retries what was left.
"""

import sys
import threading
import time
from dataclasses import dataclass

import django

django.setup()

from django.db import transaction  # noqa: E402
from django.test import Client  # noqa: E402

from erp import sweeper  # noqa: E402
from erp.events import DomainEvent, ReceivedEvent, publish, subscribe  # noqa: E402
from erp.models import Delivery, InboxRecord  # noqa: E402

MODE = sys.argv[1]
WAIT_S = 20
effects: list[tuple[str, int]] = []
calls = {"flaky": 0}


@dataclass(frozen=True, kw_only=True)
class Counted(DomainEvent):
    event_type = "quickstart.Counted"
    n: int


@dataclass(frozen=True)
class CountedData:
    n: int


@subscribe("quickstart.Counted", name="quickstart.flaky", schema=CountedData)
def flaky(event: ReceivedEvent[CountedData]) -> None:
    calls["flaky"] += 1
    if calls["flaky"] == 1 and MODE != "restart":
        raise RuntimeError("the first attempt fails")
    effects.append(("flaky", event.data.n))


@dataclass(frozen=True, kw_only=True)
class Noted(DomainEvent):
    event_type = "quickstart.Noted"
    n: int


@subscribe("quickstart.Noted", name="quickstart.steady", schema=CountedData)
def steady(event: ReceivedEvent[CountedData]) -> None:
    effects.append(("steady", event.data.n))


def sweeper_running() -> bool:
    return any(thread.name == sweeper.THREAD_NAME for thread in threading.enumerate())


def flaky_delivery() -> Delivery:
    return Delivery.objects.get(subscriber="quickstart.flaky")


def wait_until_delivered(subscriber: str, timeout: float = WAIT_S) -> Delivery:
    deadline = time.monotonic() + timeout
    while (delivery := Delivery.objects.get(subscriber=subscriber)).status != Delivery.Status.DELIVERED:
        if time.monotonic() > deadline:
            break
        time.sleep(0.1)
    return delivery


def publish_failing_first() -> None:
    with transaction.atomic():
        publish(Counted(n=7))
    delivery = flaky_delivery()
    assert (delivery.status, delivery.attempts) == (Delivery.Status.PENDING, 1), delivery
    assert "the first attempt fails" in delivery.last_error, delivery.last_error
    assert ("flaky", 7) not in effects, effects


def assert_retried_once() -> None:
    delivery = wait_until_delivered("quickstart.flaky")
    assert (delivery.status, delivery.attempts) == (Delivery.Status.DELIVERED, 2), (
        delivery.status,
        delivery.attempts,
        delivery.last_error,
    )
    time.sleep(2.5)  # two more passes: nothing delivered twice
    assert [e for e in effects if e[0] == "flaky"] == [("flaky", 7)], effects
    assert InboxRecord.objects.filter(event_id=delivery.event_id, subscriber="quickstart.flaky").count() == 1


def retry() -> None:
    publish_failing_first()
    assert sweeper_running(), "publishing on the quick start starts the sweeper"
    # A slow request holds SQLite's write lock while the retry falls due: the
    # sweeper waits for it instead of failing, and the request commits.
    with transaction.atomic():
        publish(Noted(n=8))
        time.sleep(2.5)
    assert_retried_once()
    # The request's own event: delivered at its commit or, when that attempt met
    # the sweeper's write lock (it then counts nothing), by the next pass.
    steady_delivery = wait_until_delivered("quickstart.steady")
    assert (steady_delivery.status, steady_delivery.attempts) == (Delivery.Status.DELIVERED, 1), (
        steady_delivery
    )
    assert [e for e in effects if e[0] == "steady"] == [("steady", 8)], effects
    print("quickstart sweeper retry ok")


def disabled() -> None:
    publish_failing_first()
    assert Client().get("/healthz").status_code == 200
    assert not sweeper_running(), "EVENTS_EMBEDDED_SWEEP=false starts no sweeper"
    time.sleep(3)  # three sweep intervals, the retry long due
    delivery = flaky_delivery()
    assert (delivery.status, delivery.attempts) == (Delivery.Status.PENDING, 1), delivery
    assert ("flaky", 7) not in effects, effects
    print("quickstart sweeper disabled ok")


def restart() -> None:
    assert flaky_delivery().status == Delivery.Status.PENDING, "run `disabled` on this database first"
    assert not sweeper_running(), "starting the process (ready()) starts no sweeper"
    assert Client().get("/healthz").status_code == 200
    assert sweeper_running(), "the first request starts the sweeper"
    assert_retried_once()
    print("quickstart sweeper restart ok")


{"retry": retry, "disabled": disabled, "restart": restart}[MODE]()
