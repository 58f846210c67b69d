"""The database router, and events crossing databases when apps are split.

`make test` runs the suite twice: on one database, and with every splittable
domain app on its own (``<APP>_DATABASE_URL``); the tests marked
``databases="__all__"`` below then prove the split for real."""

from dataclasses import dataclass

import pytest
from django.apps import apps
from django.db import connections, transaction

from erp import relay
from erp.events import DomainEvent, ReceivedEvent, publish, subscribe, unsubscribe
from erp.models import InboxRecord, OutboxEvent
from erp.routers import SPLITTABLE_APPS, AppDatabaseRouter, alias_for_app

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
def test_outbox_and_inbox_tables_exist_in_every_configured_database():
    for alias in connections:
        assert OutboxEvent.objects.using(alias).count() >= 0
        assert InboxRecord.objects.using(alias).count() >= 0


@dataclass(frozen=True, kw_only=True)
class StockMoved(DomainEvent):
    event_type = "estoque.TestStockMoved"
    quantity: str


@pytest.mark.django_db(transaction=True, databases="__all__")
def test_an_event_commits_with_the_publishers_database_and_is_received_in_the_subscribers():
    received = []

    @subscribe("estoque.TestStockMoved", name="vendas.test_stock_listener")
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
