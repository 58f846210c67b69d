"""One transaction per app's database.

A domain service writes inside ``erp.db.atomic("<its app>")``: the transaction
opens on the alias the router gives that app (``DATABASES["estoque"]`` when the
app has a database of its own, else ``default``), so ``publish()`` and every
ORM write of the app land in it, on one database or on split ones::

    @atomic("estoque")
    def receipt_post(*, warehouse_id, lines, ...) -> Receipt:
        ...
        publish(StockReceived(...))

A transaction belongs to the app that opened it. When app B opens its own
transaction while app A's is open on the same alias (one database for all
apps: an A service or an A view called B through B's contract), B's
transaction runs on a connection of its own and commits on its own, exactly as
it does when B has its own database or runs as a remote service. So a call to
another app never joins the caller's transaction, and a rollback of the
caller never undoes the callee: the two modes behave the same. (The caller
compensates, e.g. releases a reservation; ARCHITECTURE: never rely on a
transaction spanning two apps.)

The exception is SQLite, the quick start's embedded database: it has one writer
per file, so a second connection would wait for the caller's lock until it times
out. There the callee's transaction joins the caller's (a savepoint).
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from contextlib import ContextDecorator
from dataclasses import dataclass, field

from django.core.signals import request_finished
from django.db import connections, transaction

from erp.routers import alias_for_app

# alias -> the app whose kernel-opened transaction is innermost on that alias in
# this thread (or context). Transactions opened with Django's atomic() directly,
# such as a test's, belong to nobody.
_owners: contextvars.ContextVar[tuple[tuple[str, str], ...]] = contextvars.ContextVar(
    "erp_db_owners", default=()
)


def alias(app_label: str) -> str:
    """The database alias that holds ``app_label``'s tables."""
    return alias_for_app(app_label)


def owner(alias_name: str) -> str | None:
    """The app whose transaction is open on ``alias_name`` in this context, if any."""
    for name, app in reversed(_owners.get()):
        if name == alias_name:
            return app
    return None


def on_commit(app_label: str, func: Callable[[], None], *, robust: bool = False) -> None:
    """Run ``func`` once ``app_label``'s transaction commits (now, outside one)."""
    transaction.on_commit(func, using=alias_for_app(app_label), robust=robust)


@dataclass
class _Opened:
    alias: str
    inner: transaction.Atomic
    token: contextvars.Token
    replaced: object | None = None  # the caller's connection while ours is swapped in
    side: object | None = field(default=None, repr=False)


class atomic(ContextDecorator):  # noqa: N801 - reads like transaction.atomic, which it replaces
    """``transaction.atomic`` on ``app_label``'s database, as a context manager
    or a decorator; the alias is chosen when the block is entered, so settings
    (and tests) may change which database an app uses."""

    def __init__(self, app_label: str, *, savepoint: bool = True, durable: bool = False):
        self.app_label = app_label
        self.savepoint = savepoint
        self.durable = durable
        self._opened: list[_Opened] = []

    def _recreate_cm(self):
        # ContextDecorator reuses one instance per decorated function; a fresh one
        # per call keeps recursive and concurrent calls apart.
        return atomic(self.app_label, savepoint=self.savepoint, durable=self.durable)

    def __enter__(self):
        name = alias_for_app(self.app_label)
        current = owner(name)
        replaced = side = None
        if current is not None and current != self.app_label and connections[name].vendor != "sqlite":
            replaced, side = connections[name], _side_connections.take(name)
            connections[name] = side
        inner = transaction.atomic(using=name, savepoint=self.savepoint, durable=self.durable)
        token = _owners.set((*_owners.get(), (name, self.app_label)))
        try:
            inner.__enter__()
        except BaseException:
            _owners.reset(token)
            if replaced is not None:
                connections[name] = replaced
                _side_connections.give_back(name, side)
            raise
        self._opened.append(_Opened(alias=name, inner=inner, token=token, replaced=replaced, side=side))
        return self

    def __exit__(self, exc_type, exc, tb):
        opened = self._opened.pop()
        try:
            return opened.inner.__exit__(exc_type, exc, tb)
        finally:
            _owners.reset(opened.token)
            if opened.replaced is not None:
                connections[opened.alias] = opened.replaced
                _side_connections.give_back(opened.alias, opened.side)


class _SideConnections:
    """Spare connections per alias and thread, for an app's transaction opened
    inside another app's on the same database. Kept open for reuse, as Django
    keeps its own (CONN_MAX_AGE); closed with close_side_connections()."""

    def __init__(self):
        self._local = threading.local()

    def _free(self, alias_name: str) -> list:
        pools = self._local.__dict__.setdefault("pools", {})
        return pools.setdefault(alias_name, [])

    def take(self, alias_name: str):
        free = self._free(alias_name)
        if free:
            connection = free.pop()
            connection.close_if_unusable_or_obsolete()
            return connection
        return connections.create_connection(alias_name)

    def give_back(self, alias_name: str, connection) -> None:
        self._free(alias_name).append(connection)

    def close_all(self, *, only_obsolete: bool = False) -> None:
        for pool in self._local.__dict__.get("pools", {}).values():
            for connection in list(pool):
                if only_obsolete:
                    connection.close_if_unusable_or_obsolete()
                else:
                    pool.remove(connection)
                    connection.close()


_side_connections = _SideConnections()


def close_side_connections() -> None:
    """Close this thread's spare connections (tests, scripts)."""
    _side_connections.close_all()


def _close_obsolete_side_connections(**kwargs) -> None:
    # What Django's close_old_connections does for its own, at each request's end.
    _side_connections.close_all(only_obsolete=True)


request_finished.connect(_close_obsolete_side_connections, dispatch_uid="erp.db.side_connections")
