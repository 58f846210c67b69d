"""Input checks every domain service makes before touching a row.

Framework-light (Django's gettext only): a service passes the InvalidError
subclass of its own contract, so a bad value surfaces as that app's error with
one FieldError naming the field (``lines.2.quantity``), whatever the caller
(API, admin, command, subscriber or another app) sent.
"""

from __future__ import annotations

import datetime
from collections.abc import Collection
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from uuid import UUID

from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.utils.translation import gettext as _

from erp.db import atomic
from erp.errors import FieldError, InvalidError


def invalid(error: type[InvalidError], field: str | None, code: str, message: str) -> InvalidError:
    return error(message, errors=[FieldError(field=field, code=code, message=message)])


def text(
    value: Any,
    field: str,
    *,
    max_length: int,
    required: bool = True,
    error: type[InvalidError] = InvalidError,
) -> str:
    """Stripped text without NUL characters, at most ``max_length`` long."""
    if not isinstance(value, str):
        raise invalid(error, field, "invalid", _("Must be text."))
    value = value.strip()
    if required and not value:
        raise invalid(error, field, "required", _("This field may not be blank."))
    if len(value) > max_length:
        raise invalid(error, field, "max_length", _("At most %(n)d characters.") % {"n": max_length})
    if "\x00" in value:
        raise invalid(error, field, "null_characters_not_allowed", _("Null characters are not allowed."))
    return value


def decimal(
    value: Any,
    field: str,
    *,
    places: Decimal,
    maximum: Decimal,
    positive: bool,
    error: type[InvalidError] = InvalidError,
) -> Decimal:
    """A finite Decimal with at most ``places``; > 0 (``positive``) or >= 0."""
    if isinstance(value, bool) or not isinstance(value, (Decimal, int, str)):
        raise invalid(error, field, "invalid", _("A number is required."))
    try:
        number = Decimal(value.strip() if isinstance(value, str) else value)
    except (InvalidOperation, ValueError):
        raise invalid(error, field, "invalid", _("A number is required.")) from None
    if not number.is_finite():
        raise invalid(error, field, "invalid", _("A number is required."))
    if positive and number <= 0:
        raise invalid(error, field, "min_value", _("Must be greater than zero."))
    if number < 0:
        raise invalid(error, field, "min_value", _("Must not be negative."))
    # Before quantize: a number beyond the context's precision (1E+30) cannot be quantized.
    if number > maximum:
        raise invalid(error, field, "max_value", _("Must be at most %(max)s.") % {"max": maximum})
    if number != number.quantize(places, rounding=ROUND_HALF_UP):
        raise invalid(
            error,
            field,
            "max_decimal_places",
            _("At most %(n)d decimal places.") % {"n": -places.as_tuple().exponent},
        )
    return number.quantize(places)


def uuid(value: Any, field: str, *, error: type[InvalidError] = InvalidError) -> UUID:
    if isinstance(value, UUID):
        return value
    try:
        return UUID(str(value))
    except (ValueError, AttributeError, TypeError):
        raise invalid(error, field, "invalid", _("Must be a valid UUID.")) from None


def date(value: Any, field: str, *, error: type[InvalidError] = InvalidError) -> datetime.date:
    """A calendar date (a datetime is refused: accounting dates are dates)."""
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise invalid(error, field, "invalid", _("A date (YYYY-MM-DD) is required."))


def save_validated(
    instance,
    *,
    app: str,
    duplicate_field: str,
    error: type[InvalidError] = InvalidError,
    stripped: Collection[str] = (),
):
    """Validate the model's own field rules, then save on ``app``'s database; a
    taken unique value (SKU, code) is a 400 on ``duplicate_field``, also when a
    concurrent save won. NUL characters are refused; ``stripped`` fields are
    stripped first."""
    for field in instance._meta.concrete_fields:
        value = getattr(instance, field.attname)
        if isinstance(value, str):
            if "\x00" in value:
                raise invalid(
                    error, field.name, "null_characters_not_allowed", _("Null characters are not allowed.")
                )
            if field.name in stripped:
                setattr(instance, field.attname, value.strip())
    try:
        instance.full_clean(validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        errors = [
            FieldError(field=name, code=problem.code or "invalid", message=" ".join(problem.messages))
            for name, problems in exc.error_dict.items()
            for problem in problems
        ]
        raise error(errors[0].message, errors=errors) from None
    try:
        with atomic(app):
            instance.save()
    except IntegrityError:
        raise invalid(error, duplicate_field, "unique", _("This value is already used.")) from None
    return instance
