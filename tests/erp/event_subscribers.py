"""Test-only events and subscribers, registered in the test process and in the
real worker (tests/erp/event_worker.py). Each handler writes one row per effect
into ``test_event_effects`` inside the delivery transaction, so a duplicate
effect shows up as a duplicate row."""

import os
import time
from dataclasses import dataclass

import redis
from django.db import connections

from erp.events import DomainEvent, ReceivedEvent, subscribe
from erp.routers import alias_for_app

EFFECTS_TABLE = "test_event_effects"
CONTROL_URL = os.environ.get("TEST_CONTROL_REDIS_URL", "redis://127.0.0.1:6379/3")
SUBSCRIBERS = ("tests.effect_a", "tests.effect_b")


@dataclass(frozen=True, kw_only=True)
class Ping(DomainEvent):
    event_type = "tests.Ping"
    n: int = 0
    fail_times: int = 0  # the first N attempts of each subscriber raise
    poison: bool = False  # raises until the "poison-fixed" control key exists
    sleep: float = 0  # seconds to hold the delivery transaction open


@dataclass(frozen=True)
class PingData:
    """What the test subscribers read of a Ping."""

    n: int = 0
    fail_times: int = 0
    poison: bool = False
    sleep: float = 0


def control() -> redis.Redis:
    return redis.Redis.from_url(CONTROL_URL)


def _effect(event: ReceivedEvent[PingData], subscriber: str) -> None:
    ping = event.data
    ctl = control()
    if ping.fail_times and ctl.incr(f"fail:{event.id}:{subscriber}") <= ping.fail_times:
        raise RuntimeError(f"planned failure of {subscriber}")
    if ping.poison and not ctl.exists("poison-fixed"):
        raise ValueError("poison event: this subscriber cannot handle it yet")
    with connections[alias_for_app("tests")].cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {EFFECTS_TABLE} (event_id, subscriber, n) VALUES (%s, %s, %s)",  # noqa: S608
            [str(event.id), subscriber, ping.n],
        )
    if ping.sleep:
        ctl.set(f"started:{event.id}:{subscriber}", 1)
        time.sleep(ping.sleep)


@subscribe("tests.Ping", name="tests.effect_a", schema=PingData)
def effect_a(event: ReceivedEvent[PingData]) -> None:
    _effect(event, "tests.effect_a")


@subscribe("tests.Ping", name="tests.effect_b", schema=PingData)
def effect_b(event: ReceivedEvent[PingData]) -> None:
    _effect(event, "tests.effect_b")
