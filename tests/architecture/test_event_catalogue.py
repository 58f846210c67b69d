"""docs/events.md is generated from the code; it must not drift from it."""

from dataclasses import dataclass
from decimal import Decimal
from io import StringIO
from pathlib import Path
from uuid import UUID

from django.core.management import call_command

from erp.catalogue import REGENERATE, render
from erp.events import DomainEvent, Subscription

CATALOGUE = Path(__file__).resolve().parents[2] / "docs" / "events.md"


def test_the_committed_catalogue_is_the_generated_one():
    committed = CATALOGUE.read_text() if CATALOGUE.exists() else ""
    assert committed == render(), f"docs/events.md is out of date: regenerate it with `{REGENERATE}`"


def test_the_command_prints_the_catalogue():
    out = StringIO()
    call_command("event_catalogue", stdout=out)
    assert out.getvalue() == render()
    assert "## `workflows.RunCompleted` (version 1)" in out.getvalue()


@dataclass(frozen=True)
class Line:
    product_id: UUID
    quantity: Decimal


@dataclass(frozen=True, kw_only=True)
class Shipped(DomainEvent):
    """An order left the warehouse."""

    event_type = "vendas.TestShipped"
    order_id: UUID
    lines: list[Line]
    note: str | None = None


@dataclass(frozen=True)
class ShippedLines:
    lines: list[Line]


def invoice(event) -> None:
    """A handler."""


def test_an_event_is_listed_with_its_nested_fields_docstring_and_subscribers():
    sub = Subscription(
        name="financeiro.invoice", event_type="vendas.TestShipped", handler=invoice, schema=ShippedLines
    )
    text = render([Shipped], [sub])
    assert "## `vendas.TestShipped` (version 1)" in text
    assert "Published by `vendas` (`tests.architecture.test_event_catalogue.Shipped`)." in text
    assert "An order left the warehouse." in text
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    assert rows == [
        "| `order_id` | `UUID` |",
        "| `lines` | `list[Line]` |",
        "| `lines[].product_id` | `UUID` |",
        "| `lines[].quantity` | `Decimal` |",
        "| `note` | `str \\| None` |",
    ]
    assert (
        "- `financeiro.invoice` on `vendas.TestShipped` (versions 1): "
        "`tests.architecture.test_event_catalogue.invoice`, schema `ShippedLines` reads "
        "`lines`, `lines[].product_id`, `lines[].quantity`"
    ) in text
    assert render([Shipped], [sub]) == text  # deterministic
