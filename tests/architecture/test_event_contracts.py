"""The event contract: every subscriber our apps register can read every
payload its publisher sends. Publisher and subscriber never import each other,
so this test is where a renamed or retyped field shows up, before a worker
dead-letters the first real event (erp/catalogue.py does the comparison)."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, ClassVar
from uuid import UUID

import grimp

from erp.catalogue import app_subscriptions, contract_failures, event_classes, schema_mismatches
from erp.events import DomainEvent, Subscription
from erp.payloads import check_schema


def test_every_app_subscriber_reads_what_its_publisher_sends():
    failures = contract_failures(app_subscriptions(), event_classes())
    assert failures == [], "subscriber schemas out of step with the publishers:\n" + "\n".join(failures)


def test_the_publishers_event_classes_are_found_in_each_apps_events_module():
    types = {cls.event_type: cls for cls in event_classes()}
    assert {"workflows.RunWaiting", "workflows.RunCompleted", "workflows.RunFailed"} <= set(types)
    assert all(cls.__module__ == f"{event_type.split('.')[0]}.events" for event_type, cls in types.items())
    assert all(not t.startswith("tests.") for t in types)  # test events are no publisher's


def test_every_published_field_has_a_type_a_subscriber_can_declare():
    for cls in event_classes():
        check_schema(cls)  # raises naming the field otherwise


def test_no_test_subscription_is_held_to_the_contract():
    # tests/erp/event_subscribers.py subscribes to tests.Ping, which no app publishes
    import tests.erp.event_subscribers  # noqa: F401

    assert all(not sub.module.startswith("tests.") for sub in app_subscriptions())


# The checker itself, on deliberately matching and mismatched pairs ------------


@dataclass(frozen=True)
class PublishedLine:
    product_id: UUID
    quantity: Decimal


@dataclass(frozen=True, kw_only=True)
class Shipped(DomainEvent):
    event_type = "vendas.TestShipped"
    version: ClassVar[int] = 2
    order_id: UUID
    total: Decimal
    units: int
    shipped_on: date
    note: str | None
    lines: list[PublishedLine]
    tags: list
    extra: dict[str, Any]


@dataclass(frozen=True)
class Line:
    quantity: Decimal


@dataclass(frozen=True)
class Reads:
    order_id: str  # a UUID arrives as text
    total: Decimal
    units: Decimal  # an int is an exact amount
    note: str | None
    lines: list[Line]
    extra: dict


def subscription(schema, versions=(2,), event_type="vendas.TestShipped") -> Subscription:
    return Subscription(
        name="financeiro.test", event_type=event_type, handler=print, schema=schema, versions=versions
    )


def test_a_schema_reading_a_subset_in_compatible_types_matches():
    assert schema_mismatches(Reads, Shipped) == []
    assert contract_failures([subscription(Reads)], [Shipped]) == []


def test_a_field_the_publisher_does_not_send_is_a_mismatch():
    @dataclass(frozen=True)
    class Typo:
        ordre_id: UUID

    assert schema_mismatches(Typo, Shipped) == ["ordre_id: the publisher has no such field"]


def test_an_incompatible_type_is_a_mismatch_nested_ones_too():
    @dataclass(frozen=True)
    class CountedLine:
        quantity: int  # would truncate "2.500"

    @dataclass(frozen=True)
    class Wrong:
        total: float
        shipped_on: UUID
        units: str
        lines: list[CountedLine]
        tags: list[str]
        order_id: list[UUID]

    assert schema_mismatches(Wrong, Shipped) == [
        "total: reads float, the publisher declares Decimal",
        "shipped_on: reads UUID, the publisher declares date",
        "units: reads str, the publisher declares int",
        "lines[].quantity: reads int, the publisher declares Decimal",
        "tags: reads list[str], the publisher declares items of any type",
        "order_id: reads a list, the publisher declares UUID",
    ]


def test_a_field_the_publisher_may_leave_null_must_be_read_as_optional():
    @dataclass(frozen=True)
    class Required:
        note: str

    assert schema_mismatches(Required, Shipped) == [
        "note: the publisher may send null (str | None); read it as str | None"
    ]


def test_an_object_read_from_a_scalar_is_a_mismatch():
    @dataclass(frozen=True)
    class Nested:
        product_id: UUID

    @dataclass(frozen=True)
    class Wrong:
        total: Nested
        extra: dict

    assert schema_mismatches(Wrong, Shipped) == [
        "total: reads an object (test_an_object_read_from_a_scalar_is_a_mismatch.<locals>.Nested), "
        "the publisher declares Decimal"
    ]


def test_a_version_the_subscriber_does_not_understand_fails_the_contract():
    assert contract_failures([subscription(Reads, versions=(1,))], [Shipped]) == [
        "financeiro.test <- vendas.TestShipped: vendas.TestShipped is version 2, financeiro.test understands [1]"
    ]


def test_a_subscription_to_an_event_nobody_publishes_fails_the_contract():
    assert contract_failures([subscription(Reads, event_type="vendas.Nope")], [Shipped]) == [
        "financeiro.test: no app publishes 'vendas.Nope'"
    ]


def test_the_kernel_has_no_import_cycle():
    # erp.tasks runs the relay; the relay sends the task by name (erp.relay.DELIVER_TASK)
    graph = grimp.build_graph("erp")
    cycles = [
        (module, imported)
        for module in sorted(graph.modules)
        for imported in sorted(graph.find_modules_directly_imported_by(module))
        if graph.chain_exists(importer=imported, imported=module)
    ]
    assert cycles == []
    assert not graph.direct_import_exists(importer="erp.relay", imported="erp.tasks")


ENVELOPE = {"event_type", "version", "event_id", "occurred_at"}


def test_no_event_names_a_payload_field_after_the_envelope():
    """A payload field called ``version`` would hide the event's own version on
    instances (workflows' events say ``definition_version``)."""
    clashes = [
        f"{cls.event_type}.{field.name}"
        for cls in event_classes()
        for field in cls.payload_fields()
        if field.name in ENVELOPE
    ]
    assert clashes == []
