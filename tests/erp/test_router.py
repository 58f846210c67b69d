"""The database router, and events crossing databases when apps are split.

`make test` runs the suite twice: on one database, and with every splittable
domain app on its own (``<APP>_DATABASE_URL``); the tests marked
``databases="__all__"`` below then prove the split for real."""

import uuid
from dataclasses import dataclass

import pytest
from django.apps import apps
from django.db import connections, transaction
from django.utils import timezone

from config.domain_apps import SPLITTABLE_APPS
from erp import relay
from erp.events import DomainEvent, ReceivedEvent, publish, subscribe, unsubscribe
from erp.models import IdempotencyRecord, InboxRecord, OutboxEvent
from erp.routers import AppDatabaseRouter, alias_for_app
from workflows.models import WorkflowRun

router = AppDatabaseRouter()


@pytest.fixture
def split(settings):
    """Settings that name a database per splittable app (routing decisions only)."""
    settings.DATABASES = {**settings.DATABASES, **{app: {} for app in SPLITTABLE_APPS}}


def test_apps_without_their_own_database_use_default(settings):
    settings.DATABASES = {"default": settings.DATABASES["default"]}
    assert {alias_for_app(app) for app in [*SPLITTABLE_APPS, "core", "auth"]} == {"default"}


def test_each_domain_app_goes_to_the_alias_named_after_it(split):
    for app in SPLITTABLE_APPS:
        assert alias_for_app(app) == app
    assert alias_for_app("core") == "default"  # stays with auth's tables
    assert alias_for_app("auth") == "default"


def test_kernel_tables_migrate_on_every_alias_and_domain_tables_on_one(split):
    for alias in ("default", *SPLITTABLE_APPS):
        assert router.allow_migrate(alias, "erp", "outboxevent")
        assert router.allow_migrate(alias, "erp", "idempotencyrecord")
    assert router.allow_migrate("estoque", "estoque")
    assert not router.allow_migrate("default", "estoque")
    assert not router.allow_migrate("estoque", "vendas")
    assert not router.allow_migrate("estoque", "core")
    assert router.allow_migrate("default", "auth") and not router.allow_migrate("vendas", "auth")


def test_a_relation_across_databases_is_refused():
    user_model = apps.get_model("core", "User")
    here, there = user_model(username="a"), user_model(username="b")
    here._state.db, there._state.db = "default", "estoque"
    assert router.allow_relation(here, there) is False
    there._state.db = "default"
    assert router.allow_relation(here, there) is True


@pytest.mark.django_db(transaction=True, databases="__all__")
def test_each_database_keeps_its_own_outbox_inbox_and_idempotency_rows():
    """The kernel's tables are on every alias, and a row written on one is on that
    one only (so an event or a stored response commits with its own app's change)."""
    aliases = list(connections)
    for alias in aliases:
        OutboxEvent.objects.using(alias).create(
            id=uuid.uuid4(),
            event_type=f"erp.Probe_{alias}",
            version=1,
            occurred_at=timezone.now(),
            payload={},
        )
        InboxRecord.objects.using(alias).create(event_id=uuid.uuid4(), subscriber=f"erp.probe_{alias}")
        IdempotencyRecord.objects.using(alias).create(
            user_id="u", key=f"probe-{alias}", fingerprint="f", status_code=201, body=b""
        )
    for alias in aliases:
        assert list(OutboxEvent.objects.using(alias).values_list("event_type", flat=True)) == [
            f"erp.Probe_{alias}"
        ]
        assert list(InboxRecord.objects.using(alias).values_list("subscriber", flat=True)) == [
            f"erp.probe_{alias}"
        ]
        assert list(IdempotencyRecord.objects.using(alias).values_list("key", flat=True)) == [
            f"probe-{alias}"
        ]


@pytest.mark.django_db(transaction=True, databases="__all__")
def test_an_apps_rows_are_written_to_and_read_from_its_own_database():
    run = WorkflowRun.objects.create(definition="probe", version=1)
    app_db = alias_for_app("workflows")
    assert run._state.db == app_db
    with connections[app_db].cursor() as cursor:  # really there, not just routed
        cursor.execute(f"SELECT count(*) FROM {WorkflowRun._meta.db_table} WHERE thread_id = %s", [run.pk])  # noqa: S608
        assert cursor.fetchone()[0] == 1
    if app_db != "default":  # split run: the default database has no such table at all
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT to_regclass(%s)", [WorkflowRun._meta.db_table])
            assert cursor.fetchone()[0] is None


@dataclass(frozen=True, kw_only=True)
class StockMoved(DomainEvent):
    event_type = "estoque.TestStockMoved"
    quantity: str


@dataclass(frozen=True)
class StockMovedData:
    quantity: str


@pytest.mark.django_db(transaction=True, databases="__all__")
def test_an_event_commits_with_the_publishers_database_and_is_received_in_the_subscribers():
    received = []

    @subscribe("estoque.TestStockMoved", name="vendas.test_stock_listener", schema=StockMovedData)
    def listener(event: ReceivedEvent) -> None:
        received.append(event.payload)

    publisher_db, subscriber_db = alias_for_app("estoque"), alias_for_app("vendas")
    try:
        with transaction.atomic(using=publisher_db):
            publish(StockMoved(quantity="2.000"))
        relay.sweep()  # eager: already delivered on commit; the sweep finds nothing due
    finally:
        unsubscribe("vendas.test_stock_listener")

    assert received == [{"quantity": "2.000"}]
    event = OutboxEvent.objects.using(publisher_db).get(event_type="estoque.TestStockMoved")
    assert InboxRecord.objects.using(subscriber_db).filter(event_id=event.id).exists()
    if publisher_db != "default":  # split run: nothing leaked into the default database
        assert not OutboxEvent.objects.using("default").filter(pk=event.id).exists()
