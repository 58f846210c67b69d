"""Subscriber schemas: a frozen dataclass listing the payload fields a handler
reads, and the conversion of a JSON payload into it.

    @dataclass(frozen=True)
    class Line:
        product_id: UUID
        quantity: Decimal

    @dataclass(frozen=True)
    class OrderShippedData:
        order_id: UUID
        lines: list[Line]
        note: str | None = None

Field types: str, int, float, bool, Decimal, UUID, date, datetime, dict,
list[X], X | None and nested frozen dataclasses. Extra payload fields are
ignored (the publisher may add fields); a field without a default must be in
the payload; ``X | None`` admits null. Values are read as the publisher's
JSON encoder wrote them (Decimal, UUID and dates as strings), never coerced
from another JSON type: a number where text is expected is a mismatch.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID

from django.utils.dateparse import parse_date, parse_datetime

SCALARS = (str, int, float, bool, Decimal, UUID, date, datetime)


class SchemaDefinitionError(TypeError):
    """A schema that cannot describe a payload (raised at subscribe() time)."""


class PayloadMismatchError(ValueError):
    """A payload that does not fit the subscriber's schema; ``problems`` lists
    each field path and what is wrong with it."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))


def _is_union(tp) -> bool:
    return typing.get_origin(tp) in (typing.Union, types.UnionType)


def is_optional(tp) -> bool:
    return _is_union(tp) and type(None) in typing.get_args(tp)


def without_none(tp):
    """``X`` for ``X | None``; ``tp`` unchanged otherwise."""
    if is_optional(tp):
        rest = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(rest) == 1:
            return rest[0]
    return tp


@functools.cache
def field_types(cls) -> dict[str, Any]:
    """Resolved annotations of the dataclass ``cls``'s fields, in field order."""
    try:
        hints = typing.get_type_hints(cls)
    except Exception as exc:  # any unresolvable annotation is the same definition error
        raise SchemaDefinitionError(f"{cls.__qualname__}: cannot resolve field types: {exc}") from exc
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def check_schema(schema) -> None:
    """Raise SchemaDefinitionError unless ``schema`` is a frozen dataclass of supported types."""
    if not (isinstance(schema, type) and dataclasses.is_dataclass(schema)):
        raise SchemaDefinitionError(f"schema {schema!r} is not a dataclass")
    if not schema.__dataclass_params__.frozen:
        raise SchemaDefinitionError(f"schema {schema.__qualname__} must be @dataclass(frozen=True)")
    for name, tp in field_types(schema).items():
        _check_type(tp, f"{schema.__qualname__}.{name}")


def _check_type(tp, where: str) -> None:
    tp = without_none(tp)
    if _is_union(tp):  # which of several types would a value be?
        raise SchemaDefinitionError(f"{where}: only 'X | None' unions are supported")
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp in SCALARS or tp is dict or origin is dict:
        return
    if tp is list or origin is list:
        if args:
            _check_type(args[0], f"{where}[]")
        return
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        check_schema(tp)
        return
    raise SchemaDefinitionError(f"{where}: unsupported field type {tp!r}")


def build(schema: type, payload: Any):
    """The ``schema`` instance read from ``payload``; PayloadMismatchError
    naming every field that does not fit."""
    problems: list[str] = []
    instance = _build_dataclass(schema, payload, "", problems)
    if problems:
        raise PayloadMismatchError(problems)
    return instance


def _build_dataclass(schema: type, value: Any, path: str, problems: list[str]):
    if not isinstance(value, Mapping):
        problems.append(f"{path or 'payload'}: expected an object, got {_show(value)}")
        return None
    values = {}
    for f in dataclasses.fields(schema):
        where = f"{path}.{f.name}" if path else f.name
        if f.name not in value:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                problems.append(f"{where}: missing")
            continue
        values[f.name] = _convert(field_types(schema)[f.name], value[f.name], where, problems)
    return None if problems else schema(**values)


def _convert(tp, value: Any, where: str, problems: list[str]):
    if is_optional(tp):
        if value is None:
            return None
        tp = without_none(tp)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _build_dataclass(tp, value, where, problems)
    origin = typing.get_origin(tp) or tp
    if origin is list:
        return _convert_list(tp, value, where, problems)
    if origin is dict:
        if isinstance(value, dict):
            return dict(value)
        problems.append(f"{where}: expected an object, got {_show(value)}")
        return None
    try:
        return _SCALAR_READERS[tp](value)
    except (TypeError, ValueError, InvalidOperation):
        problems.append(f"{where}: expected {tp.__name__}, got {_show(value)}")
        return None


def _convert_list(tp, value: Any, where: str, problems: list[str]):
    if not isinstance(value, list):
        problems.append(f"{where}: expected a list, got {_show(value)}")
        return None
    args = typing.get_args(tp)
    if not args:
        return list(value)
    return [_convert(args[0], item, f"{where}[{i}]", problems) for i, item in enumerate(value)]


def _show(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text[:60]}{'…' if len(text) > 60 else ''}"


def _exact(kind: type) -> Callable[[Any], Any]:
    def read(value):
        # bool is an int in Python, never in a payload: True is not a quantity
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            raise TypeError(value)
        return value

    return read


def _number(value) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(value)
    return float(value)


def _decimal(value) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise TypeError(value)  # a float has already lost the exact amount
    number = Decimal(value)
    if not number.is_finite():
        raise ValueError(value)
    return number


def _text(parse: Callable[[str], Any]) -> Callable[[Any], Any]:
    def read(value):
        if not isinstance(value, str):
            raise TypeError(value)
        parsed = parse(value)
        if parsed is None:
            raise ValueError(value)
        return parsed

    return read


def _date(text: str) -> date | None:
    return parse_date(text) if len(text) == 10 else None  # a datetime is not a date


_SCALAR_READERS: dict[type, Callable[[Any], Any]] = {
    str: _exact(str),
    int: _exact(int),
    bool: _exact(bool),
    float: _number,
    Decimal: _decimal,
    UUID: _text(UUID),
    date: _text(_date),
    datetime: _text(parse_datetime),
}
