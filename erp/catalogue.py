"""The event catalogue: every event class our apps publish, who subscribes to
it, and whether each subscriber's schema can read what the publisher sends.

* :func:`event_classes` finds the DomainEvent classes in each app's ``events.py``
  (imported by name: the kernel imports no app).
* :func:`schema_mismatches` compares a subscriber's schema with a publisher's
  class, field by field (tests/architecture/test_event_contracts.py runs it on
  every pair).
* :func:`render` writes the Markdown of docs/events.md
  (``python manage.py event_catalogue > docs/events.md``).
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import typing
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

from django.apps import apps
from django.conf import settings

from erp.events import DomainEvent, Subscription, all_subscriptions
from erp.payloads import field_types, is_optional, without_none

REGENERATE = "python manage.py event_catalogue > docs/events.md"
ESCAPED_PIPE = "\\|"


def our_apps(app_configs=None) -> list:
    """The installed apps of this project (settings.ERP_APPS, from config/domain_apps.py)."""
    configs = apps.get_app_configs() if app_configs is None else app_configs
    return [c for c in configs if c.label in settings.ERP_APPS]


def event_classes() -> list[type[DomainEvent]]:
    """Every DomainEvent class defined in one of our apps' ``events.py``, by type."""
    found = []
    for config in our_apps():
        if not (Path(config.path) / "events.py").is_file():
            continue
        module = importlib.import_module(f"{config.name}.events")
        found += [
            cls
            for cls in vars(module).values()
            if inspect.isclass(cls)
            and issubclass(cls, DomainEvent)
            and cls.__module__ == module.__name__
            and "event_type" in vars(cls)
        ]
    return sorted(found, key=lambda cls: cls.event_type)


def app_subscriptions() -> list[Subscription]:
    """The subscriptions whose handler is code of one of our apps (not a test's)."""
    ours = {c.label for c in our_apps()}
    return [
        sub
        for sub in all_subscriptions()
        if (config := apps.get_containing_app_config(sub.module)) is not None and config.label in ours
    ]


def published_types(event_class: type[DomainEvent]) -> dict[str, Any]:
    """The payload fields of ``event_class`` and their types."""
    hints = typing.get_type_hints(event_class)
    return {f.name: hints[f.name] for f in event_class.payload_fields()}


# What a field of the subscriber's type can read, as the publisher's JSON encoder
# writes each type (erp/payloads.py reads them back the same way).
_READABLE: dict[type, set[type]] = {
    str: {str, UUID, Decimal, date, datetime},
    int: {int},
    float: {int, float},
    bool: {bool},
    Decimal: {Decimal, int},
    UUID: {UUID},
    date: {date},
    datetime: {datetime},
}


def schema_mismatches(schema: type, event_class: type[DomainEvent]) -> list[str]:
    """Why ``schema`` cannot read every payload of ``event_class``; [] when it can."""
    return _fields_mismatches(schema, published_types(event_class), "")


def subscription_mismatches(sub: Subscription, event_class: type[DomainEvent]) -> list[str]:
    """schema_mismatches, plus a version of the class the subscriber does not understand."""
    problems = []
    if event_class.schema_version() not in sub.versions:
        problems.append(
            f"{event_class.event_type} is version {event_class.schema_version()}, "
            f"{sub.name} understands {list(sub.versions)}"
        )
    return problems + schema_mismatches(sub.schema, event_class)


def contract_failures(subscriptions: list[Subscription], classes: list[type[DomainEvent]]) -> list[str]:
    """For each subscription, why it cannot read its event: no class publishes
    the type, a version it does not understand, or a schema field that does not fit."""
    by_type = {cls.event_type: cls for cls in classes}
    failures = []
    for sub in subscriptions:
        cls = by_type.get(sub.event_type)
        if cls is None:
            failures.append(f"{sub.name}: no app publishes {sub.event_type!r}")
            continue
        failures += [
            f"{sub.name} <- {sub.event_type}: {problem}" for problem in subscription_mismatches(sub, cls)
        ]
    return failures


def _fields_mismatches(schema: type, published: dict[str, Any], path: str) -> list[str]:
    problems = []
    for name, read in field_types(schema).items():
        where = f"{path}{name}"
        if name not in published:
            problems.append(f"{where}: the publisher has no such field")
        else:
            problems += _type_mismatches(read, published[name], where)
    return problems


def _type_mismatches(read, published, where: str) -> list[str]:
    if is_optional(published) and not is_optional(read):
        return [f"{where}: the publisher may send null ({show(published)}); read it as {show(read)} | None"]
    read, published = without_none(read), without_none(published)
    if dataclasses.is_dataclass(read):
        if isinstance(published, type) and dataclasses.is_dataclass(published):
            return _fields_mismatches(read, field_types(published), f"{where}.")
        return [f"{where}: reads an object ({read.__qualname__}), the publisher declares {show(published)}"]
    if (typing.get_origin(read) or read) is list:
        return _list_mismatches(read, published, where)
    if (typing.get_origin(read) or read) is dict:
        if (typing.get_origin(published) or published) is dict or dataclasses.is_dataclass(published):
            return []
        return [f"{where}: reads an object, the publisher declares {show(published)}"]
    if published in _READABLE.get(read, ()):
        return []
    return [f"{where}: reads {show(read)}, the publisher declares {show(published)}"]


def _list_mismatches(read, published, where: str) -> list[str]:
    if (typing.get_origin(published) or published) is not list:
        return [f"{where}: reads a list, the publisher declares {show(published)}"]
    (read_item,) = typing.get_args(read) or (None,)
    (published_item,) = typing.get_args(published) or (None,)
    if read_item is None:
        return []
    if published_item is None:
        return [f"{where}: reads list[{show(read_item)}], the publisher declares items of any type"]
    return _type_mismatches(read_item, published_item, f"{where}[]")


def show(tp) -> str:
    """A type as written in Python: ``list[Line]``, ``Decimal | None``."""
    if is_optional(tp):
        return f"{show(without_none(tp))} | None"
    if tp is Any:
        return "Any"
    args = typing.get_args(tp)
    if args:
        return f"{typing.get_origin(tp).__name__}[{', '.join(show(a) for a in args)}]"
    return getattr(tp, "__name__", repr(tp))


# Markdown -------------------------------------------------------------------


def render(
    classes: list[type[DomainEvent]] | None = None, subscriptions: list[Subscription] | None = None
) -> str:
    """docs/events.md (by default of our apps' classes and subscriptions):
    deterministic (sorted, no dates), so a test can diff it."""
    classes = sorted(event_classes() if classes is None else classes, key=lambda cls: cls.event_type)
    subscriptions = sorted(
        app_subscriptions() if subscriptions is None else subscriptions, key=lambda sub: sub.name
    )
    lines = [
        "# Event catalogue",
        "",
        f"Generated from the code by `{REGENERATE}`; do not edit by hand.",
        "Each event an app publishes (a DomainEvent in its `events.py`), its payload, and the",
        "subscribers our apps register (with the fields their schema reads).",
        "",
    ]
    for cls in classes:
        lines += _render_class(cls, [s for s in subscriptions if s.event_type == cls.event_type])
    known = {cls.event_type for cls in classes}
    orphans = [s for s in subscriptions if s.event_type not in known]
    if orphans:
        lines += ["## Subscriptions to events no app publishes", ""]
        lines += [_render_subscription(s) for s in orphans] + [""]
    return "\n".join(lines).rstrip() + "\n"


def _render_class(cls: type[DomainEvent], subscribers: list[Subscription]) -> list[str]:
    lines = [
        f"## `{cls.event_type}` (version {cls.schema_version()})",
        "",
        f"Published by `{cls.event_type.split('.', 1)[0]}` (`{cls.__module__}.{cls.__qualname__}`).",
        "",
    ]
    doc = _own_docstring(cls)
    if doc:
        lines += [doc, ""]
    lines += ["| Field | Type |", "| --- | --- |"]
    # A pipe ends a table cell even inside code; GitHub shows an escaped one as "|".
    lines += [
        f"| `{path}` | `{type_.replace('|', ESCAPED_PIPE)}` |"
        for path, type_ in _flatten(published_types(cls), "")
    ]
    lines += ["", "Subscribers:" if subscribers else "Subscribers: none.", ""]
    if subscribers:
        lines += [_render_subscription(s) for s in subscribers] + [""]
    return lines


def _render_subscription(sub: Subscription) -> str:
    reads = ", ".join(f"`{path}`" for path, _ in _flatten(field_types(sub.schema), ""))
    versions = ", ".join(str(v) for v in sub.versions)
    return (
        f"- `{sub.name}` on `{sub.event_type}` (versions {versions}): "
        f"`{sub.module}.{sub.handler.__qualname__}`, schema `{sub.schema.__qualname__}` reads {reads or 'nothing'}"
    )


def _flatten(types: dict[str, Any], prefix: str) -> list[tuple[str, str]]:
    """Fields and nested fields as (path, type) rows: ``lines[].quantity``."""
    rows = []
    for name, tp in types.items():
        path = f"{prefix}{name}"
        rows.append((path, show(tp)))
        inner, suffix = without_none(tp), ""
        if (typing.get_origin(inner) or inner) is list and typing.get_args(inner):
            inner, suffix = without_none(typing.get_args(inner)[0]), "[]"
        if isinstance(inner, type) and dataclasses.is_dataclass(inner):
            rows += _flatten(field_types(inner), f"{path}{suffix}.")
    return rows


def _own_docstring(cls: type) -> str:
    doc = vars(cls).get("__doc__")
    if not doc or doc.startswith(f"{cls.__name__}("):  # the signature dataclass writes when there is none
        return ""
    return inspect.cleandoc(doc)
