"""The project's money rules (ARCHITECTURE: Money), in one place for every app:
amounts have 2 places, rounded half up; a document line is priced on its own.

``line_amounts`` is how a sales order prices a line and how the invoice finance
issues for it prices the same line, so the two always agree to the cent."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.db.models import F, Q
from django.db.models.functions import Round

CENT = Decimal("0.01")


def money(value: Decimal) -> Decimal:
    """``value`` rounded half up to the cent."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def line_amounts(
    quantity: Decimal, unit_price: Decimal, discount_percent: Decimal, tax_rate: Decimal
) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    """(discount, subtotal, tax, total) of one line, each to the cent:
    gross = quantity × unit price, discount = gross × discount % / 100,
    subtotal = gross − discount, tax = subtotal × tax rate / 100,
    total = subtotal + tax."""
    gross = money(quantity * unit_price)
    discount = money(gross * discount_percent / 100)
    subtotal = gross - discount
    tax = money(subtotal * tax_rate / 100)
    return discount, subtotal, tax, subtotal + tax


def adds_up(total: str, *parts: str) -> Q:
    """A check constraint's condition: the ``total`` column equals the sum of the
    ``parts`` columns to the cent. Rounded because SQLite (the quick start) keeps
    decimals as floating point, where 1.10 + 2.20 is not 3.30; on PostgreSQL the
    columns are exact and the rounding changes nothing."""
    summed = F(parts[0])
    for part in parts[1:]:
        summed = summed + F(part)
    return Q(**{total: Round(summed, 2)})
