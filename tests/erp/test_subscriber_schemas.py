"""Subscriber schemas: the relay reads each payload into the subscriber's frozen
dataclass before its handler runs, and dead-letters at once an event the
subscriber cannot read (retrying the same payload cannot help)."""

import importlib
import re
import sys
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import ClassVar
from uuid import UUID, uuid4

import pytest
from django.apps import AppConfig
from django.db import transaction
from prometheus_client import REGISTRY

from erp import relay
from erp.checks import check_subscriber_modules, check_subscriptions
from erp.events import DomainEvent, EventError, ReceivedEvent, publish, subscribe, unsubscribe
from erp.models import Delivery, InboxRecord
from erp.payloads import PayloadMismatchError, build

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")  # the sweep visits every one


@dataclass(frozen=True)
class ShippedLine:
    product_id: UUID
    quantity: Decimal


@dataclass(frozen=True, kw_only=True)
class OrderShipped(DomainEvent):
    """The publisher's side: more fields than any one subscriber reads."""

    event_type = "tests.OrderShipped"
    order_id: UUID
    total: Decimal
    shipped_on: date
    lines: list[ShippedLine]
    note: str | None = None
    carrier: str = "post"


@dataclass(frozen=True, kw_only=True)
class OrderShippedV2(DomainEvent):
    event_type = "tests.OrderShipped"
    version: ClassVar[int] = 2
    order_id: UUID


@dataclass(frozen=True)
class Line:
    product_id: UUID
    quantity: Decimal


@dataclass(frozen=True)
class Shipped:
    """What an invoicing subscriber reads: no carrier."""

    order_id: UUID
    total: Decimal
    shipped_on: date
    lines: list[Line]
    note: str | None


@dataclass(frozen=True)
class ShippedWithWeight:
    order_id: UUID
    weight_kg: Decimal  # the publisher never sends it


@pytest.fixture
def received():
    """Subscribes under ``name`` with ``schema``; collects what its handler gets."""
    got: list[ReceivedEvent] = []
    names = []

    def register(schema, *, name="tests.invoicing", versions=(1,)):
        names.append(name)
        subscribe("tests.OrderShipped", name=name, schema=schema, versions=versions)(got.append)
        return got

    yield register
    for name in names:
        unsubscribe(name)


def ship(event=None) -> OrderShipped:
    event = event or OrderShipped(
        order_id=uuid4(),
        total=Decimal("30.50"),
        shipped_on=date(2025, 3, 1),
        lines=[ShippedLine(product_id=uuid4(), quantity=Decimal("2.500"))],
    )
    with transaction.atomic():
        publish(event)
    return event


def dead_lettered(subscriber: str) -> float:
    labels = {"event_type": "tests.OrderShipped", "subscriber": subscriber}
    return REGISTRY.get_sample_value("erp_events_dead_lettered_total", labels) or 0


def test_the_handler_gets_the_payload_read_into_its_schema(received):
    got = received(Shipped)
    event = ship()

    (delivered,) = got
    assert delivered.data == Shipped(
        order_id=event.order_id,
        total=Decimal("30.50"),
        shipped_on=date(2025, 3, 1),
        lines=[Line(product_id=event.lines[0].product_id, quantity=Decimal("2.500"))],
        note=None,
    )
    assert delivered.payload["carrier"] == "post"  # the raw payload keeps every field
    assert delivered.payload["lines"] == [{"product_id": str(event.lines[0].product_id), "quantity": "2.500"}]
    assert Delivery.objects.get().status == Delivery.Status.DELIVERED


def test_a_payload_missing_a_field_is_dead_lettered_at_once_with_the_reason(received, settings):
    settings.EVENTS_MAX_ATTEMPTS = 5
    got = received(ShippedWithWeight, name="tests.weighing")
    before = dead_lettered("tests.weighing")

    ship()

    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == (Delivery.Status.DEAD, 1)
    assert "weight_kg: missing" in delivery.last_error
    assert "ShippedWithWeight" in delivery.last_error
    assert "Traceback" not in delivery.last_error  # the reason, not a stack
    assert got == []
    assert not InboxRecord.objects.exists()
    assert dead_lettered("tests.weighing") == before + 1
    assert relay.sweep() == 0  # nothing left to retry


def test_a_value_the_schema_cannot_read_is_dead_lettered(received):
    got = received(Shipped)

    ship(
        OrderShipped(
            order_id=uuid4(),
            total=Decimal("1"),
            shipped_on=date(2025, 3, 1),
            lines=[{"product_id": "not-a-uuid", "quantity": "1"}],
        )
    )

    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.DEAD
    assert "lines[0].product_id: expected UUID, got str 'not-a-uuid'" in delivery.last_error
    assert got == []


def test_an_event_version_the_subscriber_does_not_understand_is_dead_lettered(received):
    got = received(Shipped)

    ship(OrderShippedV2(order_id=uuid4()))

    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.DEAD
    assert "understands versions [1] of tests.OrderShipped, not version 2" in delivery.last_error
    assert got == []


def test_a_dead_lettered_event_is_delivered_once_the_subscriber_understands_it(received):
    @dataclass(frozen=True)
    class JustTheOrder:
        order_id: UUID

    received(JustTheOrder, versions=(1,))
    event = ship(OrderShippedV2(order_id=uuid4()))
    assert Delivery.objects.get().status == Delivery.Status.DEAD

    unsubscribe("tests.invoicing")  # the fixed release understands version 2
    got = received(JustTheOrder, versions=(1, 2))
    assert relay.replay(alias="default", dead_only=True) == 1

    assert [e.data for e in got] == [JustTheOrder(order_id=event.order_id)]
    assert Delivery.objects.get().status == Delivery.Status.DELIVERED


@dataclass(frozen=True, kw_only=True)
class DefinitionPublished(DomainEvent):
    event_type = "tests.DefinitionPublished"
    version: int  # a payload field (a workflow definition's version), not the event's


@dataclass(frozen=True)
class DefinitionData:
    version: int


def test_a_payload_field_named_version_does_not_change_the_events_version():
    got = []
    subscribe("tests.DefinitionPublished", name="tests.definitions", schema=DefinitionData)(got.append)
    try:
        with transaction.atomic():
            publish(DefinitionPublished(version=7))
    finally:
        unsubscribe("tests.definitions")
    assert [(e.version, e.data) for e in got] == [(1, DefinitionData(version=7))]
    assert Delivery.objects.get().event.version == 1


def test_a_schema_must_be_a_frozen_dataclass_of_supported_types():
    @dataclass
    class Mutable:
        n: int

    @dataclass(frozen=True)
    class WithSet:
        tags: set[str]

    @dataclass(frozen=True)
    class WithUnion:
        code: int | str

    for schema, reason in [
        (Mutable, "frozen=True"),
        (dict, "not a dataclass"),
        (WithSet, "unsupported field type"),
        (WithUnion, "only 'X | None' unions"),
    ]:
        with pytest.raises(EventError, match=re.escape(reason)):
            subscribe("tests.OrderShipped", name="tests.bad", schema=schema)
    with pytest.raises(TypeError, match="schema"):
        subscribe("tests.OrderShipped", name="tests.bad")  # the schema is not optional
    with pytest.raises(EventError, match="versions"):
        subscribe("tests.OrderShipped", name="tests.bad", schema=Shipped, versions=())


@dataclass(frozen=True)
class Typed:
    count: int
    ratio: float
    active: bool
    at: datetime
    on: date
    meta: dict
    tags: list[str]
    maybe: int | None = None


TYPED = {
    "count": 3,
    "ratio": 2,
    "active": True,
    "at": "2025-03-01T10:30:00.123Z",
    "on": "2025-03-01",
    "meta": {"a": 1},
    "tags": ["x"],
    "extra": "ignored",
}


def test_payload_values_are_read_as_the_publisher_wrote_them():
    typed = build(Typed, TYPED)
    assert typed == Typed(
        count=3,
        ratio=2.0,
        active=True,
        at=datetime(2025, 3, 1, 10, 30, 0, 123000, tzinfo=UTC),
        on=date(2025, 3, 1),
        meta={"a": 1},
        tags=["x"],
    )


def test_every_field_that_does_not_fit_is_named():
    wrong = {**TYPED, "count": True, "active": 1, "on": "2025-03-01T10:30:00Z", "tags": "x", "maybe": "2"}
    del wrong["ratio"]
    with pytest.raises(PayloadMismatchError) as error:
        build(Typed, wrong)
    assert error.value.problems == [
        "count: expected int, got bool True",
        "ratio: missing",
        "active: expected bool, got int 1",
        "on: expected date, got str '2025-03-01T10:30:00Z'",
        "tags: expected a list, got str 'x'",
        "maybe: expected int, got str '2'",
    ]


def test_an_amount_is_never_read_from_a_float():
    @dataclass(frozen=True)
    class Amount:
        value: Decimal

    assert build(Amount, {"value": "0.10"}).value == Decimal("0.10")
    assert build(Amount, {"value": 3}).value == Decimal(3)
    for bad in (0.1, "NaN", "ten"):
        with pytest.raises(PayloadMismatchError, match="value: expected Decimal"):
            build(Amount, {"value": bad})


# Start-up checks ------------------------------------------------------------


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    """Imports a module written in a directory outside the repository, the way
    a package that registers subscribers would be; forgets it afterwards."""
    monkeypatch.syspath_prepend(str(tmp_path))
    imported = []

    def load(source: str, package: str | None = None):
        name = f"plugin_{uuid.uuid4().hex[:8]}"
        if package:
            (tmp_path / name).mkdir()
            (tmp_path / name / "__init__.py").write_text("")
            (tmp_path / name / "subscribers.py").write_text(source)
        else:
            (tmp_path / f"{name}.py").write_text(source)
        imported.append(name)
        return importlib.import_module(name)

    yield load
    for name in imported:
        for module in [m for m in sys.modules if m == name or m.startswith(f"{name}.")]:
            del sys.modules[module]


SUBSCRIBES = """
from dataclasses import dataclass
from erp.events import subscribe

@dataclass(frozen=True)
class Nothing:
    pass

@subscribe({event_type!r}, name={name!r}, schema=Nothing)
def handle(event):
    pass
"""


def errors_about(subscriber: str) -> list[str]:
    return [e.id for e in check_subscriptions() if repr(subscriber) in e.msg]


def test_a_subscriber_named_after_no_installed_app_stops_start_up(plugin):
    plugin(SUBSCRIBES.format(event_type="vendas.OrderShipped", name="invoicing.on_shipped"))
    try:
        assert errors_about("invoicing.on_shipped") == ["erp.E010"]
    finally:
        unsubscribe("invoicing.on_shipped")
    assert errors_about("invoicing.on_shipped") == []


def test_an_event_type_named_after_no_installed_app_stops_start_up(plugin):
    plugin(SUBSCRIBES.format(event_type="sales.OrderShipped", name="financeiro.on_shipped"))
    try:
        (error,) = [e for e in check_subscriptions() if "'financeiro.on_shipped'" in e.msg]
    finally:
        unsubscribe("financeiro.on_shipped")
    assert error.id == "erp.E011"
    assert "'sales'" in error.msg


def test_the_test_suites_own_subscriptions_are_not_held_to_app_labels():
    subscribe("tests.Ping", name="tests.local", schema=Shipped)(lambda event: None)
    try:
        assert errors_about("tests.local") == []
    finally:
        unsubscribe("tests.local")


def test_an_apps_subscribers_module_that_nothing_imports_stops_start_up(plugin, settings, tmp_path):
    package = plugin("raise RuntimeError('imported')", package=True)
    config = AppConfig.create(package.__name__)
    settings.ERP_APPS = (*settings.ERP_APPS, config.label)  # the temporary package is one of "our" apps

    (error,) = check_subscriber_modules(app_configs=[config])
    assert error.id == "erp.E012"
    assert f"{package.__name__}.subscribers exists but was never imported" in error.msg


def test_an_apps_imported_subscribers_module_passes(plugin, settings, tmp_path):
    package = plugin("", package=True)
    importlib.import_module(f"{package.__name__}.subscribers")  # what its ready() does
    config = AppConfig.create(package.__name__)
    settings.ERP_APPS = (*settings.ERP_APPS, config.label)

    assert check_subscriber_modules(app_configs=[config]) == []


def test_every_subscribers_module_of_our_apps_is_imported():
    assert check_subscriber_modules() == []
