"""Domain events: the public kernel API that apps publish and subscribe with.

    @dataclass(frozen=True, kw_only=True)
    class OrderShipped(DomainEvent):
        event_type = "vendas.OrderShipped"
        order_id: UUID
        total: Decimal

    publish(OrderShipped(order_id=..., total=...))       # inside the transaction

    @subscribe("vendas.OrderShipped", name="financeiro.invoice_shipped_order")
    def invoice(event: ReceivedEvent) -> None: ...       # runs in a worker, once

A subscriber names the event by its type string and reads ``event.payload`` into
its own schema; it never imports the publisher. See erp/relay.py for delivery.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connections
from django.dispatch import Signal
from django.utils import timezone

from erp.routers import alias_for_app

event_published = Signal()  # sender=event class, event=DomainEvent, using=alias


class EventError(Exception):
    pass


class PublishedOutsideTransactionError(EventError):
    """publish() needs the caller's transaction: the event commits with the change."""


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

    def payload_json(self) -> str:
        """The payload as JSON text: Decimals, UUIDs and dates become strings."""
        base = {f.name for f in dataclasses.fields(DomainEvent)}
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in base}
        return json.dumps(values, cls=DjangoJSONEncoder)

    def payload(self) -> dict[str, Any]:
        """The payload exactly as a subscriber will read it back."""
        return json.loads(self.payload_json())


@dataclass(frozen=True)
class ReceivedEvent:
    """What a subscriber gets: the envelope and the plain JSON payload."""

    id: uuid.UUID
    type: str
    version: int
    occurred_at: datetime
    payload: dict[str, Any]


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


Handler = Callable[[ReceivedEvent], None]


@dataclass(frozen=True)
class Subscription:
    name: str  # "<app>.<purpose>", unique; recorded in the inbox
    event_type: str
    handler: Handler

    @property
    def app_label(self) -> str:
        return self.name.split(".", 1)[0]


_subscriptions: dict[str, Subscription] = {}


def subscribe(event_type: str, *, name: str) -> Callable[[Handler], Handler]:
    """Register ``handler`` for ``event_type``; call from AppConfig.ready()."""
    if "." not in name or "." not in event_type:
        raise EventError("names are '<app>.<name>' and types '<app>.<EventName>'")

    def register(handler: Handler) -> Handler:
        existing = _subscriptions.get(name)
        if existing is not None and existing.handler is not handler:
            raise EventError(f"subscriber {name!r} is already registered")
        _subscriptions[name] = Subscription(name=name, event_type=event_type, handler=handler)
        return handler

    return register


def subscriptions_for(event_type: str) -> list[Subscription]:
    return [s for s in _subscriptions.values() if s.event_type == event_type]


def subscription(name: str) -> Subscription | None:
    return _subscriptions.get(name)


def unsubscribe(name: str) -> None:
    """For tests and reloads; production code never needs it."""
    _subscriptions.pop(name, None)
