"""Test-only events and subscribers, registered in the test process and in the
real worker (tests/erp/event_worker.py). Each handler writes one row per effect
into ``test_event_effects`` on its own app's database, inside the delivery
transaction, so a duplicate effect shows up as a duplicate row and an effect
rolled back leaves none.

Events (all carry the same knobs, see ``Ping``) and their subscribers:

* ``Ping`` (``tests.Ping``, recorded on ``default``): ``tests.effect_a`` and
  ``tests.effect_b``, effects on ``default``.
* ``CrossPing`` (``tests.CrossPing``, recorded on ``default``):
  ``estoque.cross_effect``, whose effect and inbox row are on estoque's
  database (``alias_for_app("estoque")``: the ``estoque`` alias in the split
  run, ``default`` in the one-database run). Cutting a worker off estoque's
  database makes this delivery's subscriber unreachable while its delivery row
  is not.
* ``StockPing`` (``estoque.TestPing``, recorded on estoque's database):
  ``estoque.test_effect`` (effect there too) and ``tests.stock_effect``
  (effect on ``default``). Cutting off estoque's database makes these
  deliveries themselves unreachable (the sweep of that alias fails; the others'
  go on).

A subscriber's name starts with the label of the app whose database it writes
to (erp/routers.py routes by it); these are exempt from the app checks because
their module is repository tooling (erp/checks.py).

The knobs, per subscriber and per event id, counted in the control Redis
(``control()``: the tests' own redis-server, TEST_CONTROL_REDIS_URL, started
once per session by tests/conftest.py and inherited by the worker):

* ``fail_times=N``: the first N attempts raise (``fail:<event_id>:<subscriber>``).
* ``poison=True``: raises until the control key ``poison-fixed`` exists.
* ``sleep=S``: after writing the effect, sets ``started:<event_id>:<subscriber>``
  and holds the transaction open S seconds.
* ``kill=True``: after writing the effect (uncommitted), SIGKILLs its own process
  (the worker's pool child), counting each kill in ``kills:<event_id>:<subscriber>``;
  every attempt does, until the control key ``kill-fixed`` exists.
  ``kill_times=N``: only the first N attempts do. Only in a worker: in the test
  process (eager mode) it would kill pytest.
* ``swallow_integrity_error=True``: after writing the effect, runs a statement
  that violates a unique constraint and catches the IntegrityError without a
  savepoint, then returns normally: its transaction is in error (PostgreSQL)
  and can only roll back; the relay must not count it delivered.

``ensure_effects_tables()`` creates (and empties) the effects table on every
database; ``effect_rows()`` reads it from all of them.
"""

import contextlib
import os
import signal
import time
from dataclasses import dataclass

import redis
from django.db import IntegrityError, connections

from erp.events import DomainEvent, ReceivedEvent, subscribe
from erp.routers import alias_for_app

EFFECTS_TABLE = "test_event_effects"
SUBSCRIBERS = ("tests.effect_a", "tests.effect_b")  # tests.Ping's
CROSS_SUBSCRIBERS = ("estoque.cross_effect",)  # tests.CrossPing's
STOCK_SUBSCRIBERS = ("estoque.test_effect", "tests.stock_effect")  # estoque.TestPing's


@dataclass(frozen=True, kw_only=True)
class Ping(DomainEvent):
    event_type = "tests.Ping"
    n: int = 0
    fail_times: int = 0  # the first N attempts of each subscriber raise
    poison: bool = False  # raises until the "poison-fixed" control key exists
    sleep: float = 0  # seconds to hold the delivery transaction open
    kill: bool = False  # SIGKILLs its process, every attempt until "kill-fixed" exists
    kill_times: int = 0  # SIGKILLs its process in the first N attempts
    swallow_integrity_error: bool = False  # leaves its transaction in error, returns normally


@dataclass(frozen=True, kw_only=True)
class CrossPing(Ping):
    event_type = "tests.CrossPing"


@dataclass(frozen=True, kw_only=True)
class StockPing(Ping):
    event_type = "estoque.TestPing"


@dataclass(frozen=True)
class PingData:
    """What the test subscribers read of a Ping."""

    n: int = 0
    fail_times: int = 0
    poison: bool = False
    sleep: float = 0
    kill: bool = False
    kill_times: int = 0
    swallow_integrity_error: bool = False


def control() -> redis.Redis:
    """The tests' own Redis for counters and switches shared with the worker."""
    url = os.environ.get("TEST_CONTROL_REDIS_URL")
    if not url:  # never fall back to the machine's Redis: the tests flush this one
        raise RuntimeError("TEST_CONTROL_REDIS_URL is not set (tests/conftest.py's control_redis starts one)")
    return redis.Redis.from_url(url)


def effects_alias(subscriber: str) -> str:
    """The database a test subscriber writes its effect to (its app's)."""
    return alias_for_app(subscriber.split(".", 1)[0])


def ensure_effects_tables() -> None:
    """The effects table, empty, on every database of this run."""
    for alias in connections:
        with connections[alias].cursor() as cursor:
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {EFFECTS_TABLE} "
                "(id serial PRIMARY KEY, event_id uuid, subscriber text, n int)"
            )
            cursor.execute(f"TRUNCATE {EFFECTS_TABLE}")


def effect_rows() -> list[tuple[str, str, int]]:
    """(event id, subscriber, n) of every effect, on every database."""
    rows = []
    for alias in connections:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [EFFECTS_TABLE])
            if cursor.fetchone()[0]:
                cursor.execute(f"SELECT event_id::text, subscriber, n FROM {EFFECTS_TABLE}")  # noqa: S608
                rows += cursor.fetchall()
    return rows


def _effect(event: ReceivedEvent[PingData], subscriber: str) -> None:
    ping = event.data
    ctl = control()
    if ping.fail_times and ctl.incr(f"fail:{event.id}:{subscriber}") <= ping.fail_times:
        raise RuntimeError(f"planned failure of {subscriber}")
    if ping.poison and not ctl.exists("poison-fixed"):
        raise ValueError("poison event: this subscriber cannot handle it yet")
    with connections[effects_alias(subscriber)].cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {EFFECTS_TABLE} (event_id, subscriber, n) VALUES (%s, %s, %s) RETURNING id",  # noqa: S608
            [str(event.id), subscriber, ping.n],
        )
        effect_id = cursor.fetchone()[0]
        if ping.swallow_integrity_error:
            _swallow_integrity_error(cursor, effect_id)
    if _should_kill(ping, ctl, f"kills:{event.id}:{subscriber}"):
        os.kill(os.getpid(), signal.SIGKILL)
    if ping.sleep:
        ctl.set(f"started:{event.id}:{subscriber}", 1)
        time.sleep(ping.sleep)


def _swallow_integrity_error(cursor, effect_id: int) -> None:
    # The mistake the relay must catch: a failing statement caught without a
    # savepoint (no transaction.atomic() around it) leaves the transaction in
    # error, and its COMMIT would silently roll back the effect.
    with contextlib.suppress(IntegrityError):  # "already there, fine" - and the transaction is doomed
        cursor.execute(
            f"INSERT INTO {EFFECTS_TABLE} (id, event_id, subscriber, n) "  # noqa: S608
            f"SELECT id, event_id, subscriber, n FROM {EFFECTS_TABLE} WHERE id = %s",
            [effect_id],
        )


def _should_kill(ping: PingData, ctl: redis.Redis, counter: str) -> bool:
    if ping.kill and not ctl.exists("kill-fixed"):
        ctl.incr(counter)  # counted before dying: the Redis server has it
        return True
    if ping.kill_times and int(ctl.get(counter) or 0) < ping.kill_times:
        ctl.incr(counter)
        return True
    return False


@subscribe("tests.Ping", name="tests.effect_a", schema=PingData)
def effect_a(event: ReceivedEvent[PingData]) -> None:
    _effect(event, "tests.effect_a")


@subscribe("tests.Ping", name="tests.effect_b", schema=PingData)
def effect_b(event: ReceivedEvent[PingData]) -> None:
    _effect(event, "tests.effect_b")


@subscribe("tests.CrossPing", name="estoque.cross_effect", schema=PingData)
def cross_effect(event: ReceivedEvent[PingData]) -> None:
    _effect(event, "estoque.cross_effect")


@subscribe("estoque.TestPing", name="estoque.test_effect", schema=PingData)
def stock_test_effect(event: ReceivedEvent[PingData]) -> None:
    _effect(event, "estoque.test_effect")


@subscribe("estoque.TestPing", name="tests.stock_effect", schema=PingData)
def stock_effect_on_default(event: ReceivedEvent[PingData]) -> None:
    _effect(event, "tests.stock_effect")
