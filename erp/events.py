"""Domain events: the public kernel API that apps publish and subscribe with.

    @dataclass(frozen=True, kw_only=True)
    class OrderShipped(DomainEvent):
        event_type = "vendas.OrderShipped"
        order_id: UUID
        total: Decimal

    publish(OrderShipped(order_id=..., total=...))       # inside the transaction

    # financeiro/subscribers.py: the fields this subscriber reads
    @dataclass(frozen=True)
    class ShippedOrder:
        order_id: UUID
        total: Decimal

    @subscribe("vendas.OrderShipped", name="financeiro.invoice_shipped_order", schema=ShippedOrder)
    def invoice(event: ReceivedEvent[ShippedOrder]) -> None:   # runs in a worker, once
        event.data.total                                        # a Decimal, checked

A subscriber names the event by its type string and declares the payload fields
it reads in its own schema (erp/payloads.py); it never imports the publisher.
The relay builds ``event.data`` from the payload before the handler runs and
dead-letters an event that does not fit. tests/architecture/test_event_contracts.py
checks every schema against the publisher's class; erp/relay.py delivers.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Generic, TypeVar

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connections
from django.dispatch import Signal
from django.utils import timezone

from erp import payloads
from erp.routers import alias_for_app

event_published = Signal()  # sender=event class, event=DomainEvent, using=alias


class EventError(Exception):
    pass


class PublishedOutsideTransactionError(EventError):
    """publish() needs the caller's transaction: the event commits with the change."""


class _PayloadEncoder(DjangoJSONEncoder):
    """Nested dataclasses (an order's lines) become objects."""

    def default(self, o):
        if dataclasses.is_dataclass(o) and not isinstance(o, type):
            return {f.name: getattr(o, f.name) for f in dataclasses.fields(o)}
        return super().default(o)


@dataclass(frozen=True, kw_only=True)
class DomainEvent:
    """Base of every domain event: a frozen dataclass whose own fields are the
    JSON payload ("fat": everything a consumer needs)."""

    event_type: ClassVar[str]
    version: ClassVar[int] = 1

    event_id: uuid.UUID = field(default_factory=uuid.uuid4)
    occurred_at: datetime = field(default_factory=timezone.now)

    @property
    def app_label(self) -> str:
        return self.event_type.split(".", 1)[0]

    @classmethod
    def payload_fields(cls) -> list[dataclasses.Field]:
        """The fields that make the payload: all but the envelope's."""
        base = {f.name for f in dataclasses.fields(DomainEvent)}
        return [f for f in dataclasses.fields(cls) if f.name not in base]

    @classmethod
    def schema_version(cls) -> int:
        """The class's ``version``, even when a payload field of the same name
        hides it on instances (workflows' events carry a definition version)."""
        return cls.version

    def payload_json(self) -> str:
        """The payload as JSON text: Decimals, UUIDs and dates become strings."""
        values = {f.name: getattr(self, f.name) for f in self.payload_fields()}
        return json.dumps(values, cls=_PayloadEncoder)

    def payload(self) -> dict[str, Any]:
        """The payload exactly as a subscriber will read it back."""
        return json.loads(self.payload_json())


T = TypeVar("T")


@dataclass(frozen=True)
class ReceivedEvent(Generic[T]):
    """What a subscriber gets: the envelope, the raw JSON ``payload`` and
    ``data``, the payload read into the subscriber's schema."""

    id: uuid.UUID
    type: str
    version: int
    occurred_at: datetime
    payload: dict[str, Any]
    data: T | None = None  # set by the relay for each subscriber, before its handler runs


def publish(event: DomainEvent, *, using: str | None = None) -> None:
    """Record ``event`` in the outbox of the current transaction.

    Raises PublishedOutsideTransactionError when no transaction is open on the
    database of the publishing app: an event must never escape a change that
    could still roll back, nor be lost with a change that commits.
    """
    alias = using or alias_for_app(event.app_label)
    if not connections[alias].in_atomic_block:
        raise PublishedOutsideTransactionError(
            f"{event.event_type}: publish inside transaction.atomic(using={alias!r})"
        )
    event_published.send(sender=type(event), event=event, using=alias)


def delivered_inline() -> bool:
    """True when subscribers run in the publishing process as soon as its
    transaction commits (Celery eager: the tests and the quick start). A
    service that returns what it just wrote reads it again then, since a
    subscriber may have changed it; with a broker it cannot have yet."""
    from celery import current_app

    return bool(current_app.conf.task_always_eager)


class PayloadMismatchError(EventError):
    """The event does not fit the subscriber: a version it does not understand
    or a payload its schema cannot read. Retrying cannot help: dead-lettered."""


Handler = Callable[[ReceivedEvent], None]


@dataclass(frozen=True)
class Subscription:
    name: str  # "<app>.<purpose>", unique; recorded in the inbox
    event_type: str
    handler: Handler
    schema: type  # frozen dataclass: the payload fields the handler reads
    versions: tuple[int, ...] = (1,)

    @property
    def app_label(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def module(self) -> str:
        """Where the handler is defined (tells app code from test code)."""
        return self.handler.__module__

    def receive(self, event: ReceivedEvent) -> ReceivedEvent:
        """``event`` with ``data`` read into this subscriber's schema, or
        PayloadMismatchError saying why it cannot be."""
        if event.version not in self.versions:
            raise PayloadMismatchError(
                f"{self.name} understands versions {list(self.versions)} of {self.event_type}, "
                f"not version {event.version}"
            )
        try:
            data = payloads.build(self.schema, event.payload)
        except payloads.PayloadMismatchError as exc:
            raise PayloadMismatchError(
                f"payload of {event.type} v{event.version} does not fit {self.schema.__qualname__} "
                f"of {self.name}: {exc}"
            ) from exc
        return dataclasses.replace(event, data=data)


_subscriptions: dict[str, Subscription] = {}


def subscribe(
    event_type: str, *, name: str, schema: type, versions: tuple[int, ...] = (1,)
) -> Callable[[Handler], Handler]:
    """Register ``handler`` for ``event_type``; import from AppConfig.ready().

    ``schema`` is a frozen dataclass of the payload fields the handler reads
    (see erp/payloads.py); the handler gets it built as ``event.data``.
    ``versions`` are the event versions the handler understands."""
    if "." not in name or "." not in event_type:
        raise EventError("names are '<app>.<name>' and types '<app>.<EventName>'")
    try:
        payloads.check_schema(schema)
    except payloads.SchemaDefinitionError as exc:
        raise EventError(f"subscriber {name!r}: {exc}") from exc
    versions = tuple(versions)
    if not versions or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in versions):
        raise EventError(f"subscriber {name!r}: versions must be positive integers, got {versions!r}")

    def register(handler: Handler) -> Handler:
        existing = _subscriptions.get(name)
        if existing is not None and existing.handler is not handler:
            raise EventError(f"subscriber {name!r} is already registered")
        _subscriptions[name] = Subscription(
            name=name, event_type=event_type, handler=handler, schema=schema, versions=versions
        )
        return handler

    return register


def subscriptions_for(event_type: str) -> list[Subscription]:
    return [s for s in _subscriptions.values() if s.event_type == event_type]


def subscription(name: str) -> Subscription | None:
    return _subscriptions.get(name)


def all_subscriptions() -> list[Subscription]:
    """Every subscription registered in this process, by name."""
    return sorted(_subscriptions.values(), key=lambda s: s.name)


def unsubscribe(name: str) -> None:
    """For tests and reloads; production code never needs it."""
    _subscriptions.pop(name, None)
