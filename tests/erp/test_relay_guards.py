"""The relay's guards that need no worker, on real PostgreSQL: a subscriber whose
transaction is doomed has failed; a refused connection is an outage, a SQL error
is not; one database the relay cannot reach stops no sweep or prune of the
others; and the README's retry arithmetic is the formula's."""

import contextlib
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import structlog
from django.conf import settings
from django.db import DataError, IntegrityError, OperationalError, connection, connections, transaction
from django.db.utils import load_backend
from prometheus_client import REGISTRY

from erp import relay
from erp.events import DomainEvent, ReceivedEvent, publish, subscribe
from erp.models import Delivery, InboxRecord
from tests.worker import free_port

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")
README = Path(__file__).resolve().parents[2] / "README.md"
SUBSCRIBER = "tests.swallows_an_error"


@dataclass(frozen=True, kw_only=True)
class Swallowed(DomainEvent):
    event_type = "tests.Swallowed"
    how: str  # "integrity", "inner_atomic" or "ok"


@dataclass(frozen=True)
class SwallowedData:
    how: str


@subscribe("tests.Swallowed", name=SUBSCRIBER, schema=SwallowedData)
def swallows_an_error(event: ReceivedEvent[SwallowedData]) -> None:
    if event.data.how == "integrity":  # the unique violation poisons the transaction
        duplicate = [uuid.uuid4(), "tests.duplicate"]
        with connection.cursor() as cursor:
            sql = "INSERT INTO erp_inboxrecord (event_id, subscriber, processed_at) VALUES (%s, %s, now())"
            cursor.execute(sql, duplicate)
            with contextlib.suppress(IntegrityError):  # without a savepoint: the bug guarded against
                cursor.execute(sql, duplicate)
    elif event.data.how == "inner_atomic":
        try:
            with transaction.atomic(savepoint=False):
                raise ValueError("inner block failed")
        except ValueError:
            pass  # Django now rolls the whole transaction back at commit


def delivery_of(event: DomainEvent) -> Delivery:
    return Delivery.objects.get(event_id=event.event_id, subscriber=SUBSCRIBER)


def published(how: str) -> Swallowed:
    event = Swallowed(how=how)
    with transaction.atomic():
        publish(event)  # delivered eagerly at commit
    return event


@pytest.mark.parametrize("how", ["integrity", "inner_atomic"])
def test_a_subscriber_that_leaves_its_transaction_doomed_has_failed_not_delivered(how):
    with structlog.testing.capture_logs() as logs:
        event = published(how)
    delivery = delivery_of(event)
    assert (delivery.status, delivery.attempts) == (Delivery.Status.PENDING, 1)
    assert "marked for rollback" in delivery.last_error
    assert not InboxRecord.objects.filter(event_id=event.event_id).exists()
    assert not [line for line in logs if line["event"] == "event_delivered"]


def test_a_doomed_subscriber_is_dead_lettered_after_the_last_attempt():
    event = published("integrity")
    for _ in range(settings.EVENTS_MAX_ATTEMPTS - 1):
        assert relay.deliver(delivery_of(event).pk, "default") in {"failed", "dead"}
    delivery = delivery_of(event)
    assert (delivery.status, delivery.attempts) == (Delivery.Status.DEAD, settings.EVENTS_MAX_ATTEMPTS)


def unreachable_settings() -> dict:
    """The test database's settings with a port nothing listens on."""
    return {**connections["default"].settings_dict, "PORT": str(free_port())}


def test_a_refused_connection_is_an_outage_and_a_sql_error_is_not():
    settings_dict = unreachable_settings()
    wrapper = load_backend(settings_dict["ENGINE"]).DatabaseWrapper(settings_dict, alias="unreachable")
    with pytest.raises(OperationalError) as refused:
        wrapper.ensure_connection()
    assert relay.is_outage(refused.value)
    with pytest.raises(DataError) as sql_error, connection.cursor() as cursor:
        cursor.execute("SELECT 1 / 0")
    assert not relay.is_outage(sql_error.value)
    assert not relay.is_outage(ValueError("a subscriber's own error"))


@pytest.fixture
def unreachable_alias_first(monkeypatch):
    """A database alias nobody answers, visited before every real one."""
    aliases = {"unreachable": unreachable_settings(), **connections.settings}
    monkeypatch.setattr(connections, "settings", aliases)
    yield "unreachable"
    monkeypatch.undo()
    with contextlib.suppress(AttributeError):  # never connected: nothing to forget
        del connections["unreachable"]


def errors(alias: str, operation: str) -> float:
    labels = {"database": alias, "operation": operation}
    return REGISTRY.get_sample_value("erp_relay_database_errors_total", labels) or 0


def test_an_unreachable_database_stops_neither_the_sweep_nor_the_prune_of_the_others(unreachable_alias_first):
    event = published("ok")
    # As if the broker had been down at commit: waiting for the sweep, on default.
    Delivery.objects.filter(event_id=event.event_id).update(status=Delivery.Status.PENDING, enqueued_at=None)
    before = errors("unreachable", "sweep"), errors("unreachable", "prune")
    with structlog.testing.capture_logs() as logs:
        assert relay.sweep() == 1
        relay.prune()
    assert delivery_of(event).status == Delivery.Status.DELIVERED
    assert (errors("unreachable", "sweep"), errors("unreachable", "prune")) == (before[0] + 1, before[1] + 1)
    failed = {(line["event"], line["alias"]) for line in logs if line["event"].endswith("_failed")}
    assert failed == {("event_sweep_failed", "unreachable"), ("event_prune_failed", "unreachable")}


def test_replay_goes_on_past_an_unreachable_database_and_names_it(unreachable_alias_first):
    from django.core.management import CommandError, call_command

    event = published("integrity")
    Delivery.objects.filter(event_id=event.event_id).update(status=Delivery.Status.DEAD)
    with pytest.raises(CommandError, match="could not reach database unreachable"):
        call_command("replay_events", "--all-dead")
    assert delivery_of(event).attempts == 1  # replayed on default: reset, then attempted again


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
