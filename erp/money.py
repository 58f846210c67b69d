"""The project's money rules (ARCHITECTURE: Money), in one place for every app:
amounts have 2 places, rounded half up; a document line is priced on its own.

``line_amounts`` is how a sales order prices a line and how the invoice finance
issues for it prices the same line, so the two always agree to the cent."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

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
