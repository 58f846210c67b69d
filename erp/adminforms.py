"""The admin's writes go through the services, so it keeps the API's rules:
a form asks the service first (``refusal``: the call in a savepoint, rolled
back at once) and shows what it refuses as form errors; the save then calls
the service for real and the admin ``adopt``s the row the service saved."""

from __future__ import annotations

from collections.abc import Callable

from erp.db import atomic
from erp.errors import DomainError


class _DryRunDoneError(Exception):
    """Ends a dry run: its savepoint rolls back."""


def refusal(
    app: str, call: Callable[[], object], error: type[DomainError] = DomainError
) -> DomainError | None:
    """What ``app``'s service says to ``call`` (an ``error``), keeping none of its effect."""
    try:
        with atomic(app):
            call()
            raise _DryRunDoneError
    except _DryRunDoneError:
        return None
    except error as refused:
        return refused


def adopt(instance, saved) -> None:
    """Make the admin's ``instance`` the row the service saved (the admin logs
    it and redirects to its id)."""
    for field in instance._meta.concrete_fields:
        setattr(instance, field.attname, getattr(saved, field.attname))
    instance._state.adding, instance._state.db = False, saved._state.db
