"""Run by test_quickstart_relay.py in a process of its own, on SQLite with Celery
eager (the quick start's defaults): publish, deliver, redeliver."""

from dataclasses import dataclass

import django

django.setup()

from django.db import transaction  # noqa: E402

from erp import relay  # noqa: E402
from erp.events import DomainEvent, ReceivedEvent, publish, subscribe  # noqa: E402
from erp.models import Delivery, InboxRecord  # noqa: E402

effects: list[int] = []


@dataclass(frozen=True, kw_only=True)
class Counted(DomainEvent):
    event_type = "quickstart.Counted"
    n: int


@dataclass(frozen=True)
class CountedData:
    n: int


@subscribe("quickstart.Counted", name="quickstart.count", schema=CountedData)
def count(event: ReceivedEvent[CountedData]) -> None:
    effects.append(event.data.n)


with transaction.atomic():
    publish(Counted(n=7))
delivery = Delivery.objects.get(subscriber="quickstart.count")
assert effects == [7], effects
assert (delivery.status, delivery.attempts) == (Delivery.Status.DELIVERED, 1), delivery
assert InboxRecord.objects.filter(event_id=delivery.event_id, subscriber="quickstart.count").count() == 1
assert relay.deliver(delivery.pk, "default") == "skipped"
Delivery.objects.filter(pk=delivery.pk).update(status=Delivery.Status.PENDING)  # as if the mark were lost
assert relay.deliver(delivery.pk, "default") == "duplicate"
assert effects == [7], effects
print("quickstart relay ok")
