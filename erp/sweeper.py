"""The sweep without a beat: the quick start's in-process retries.

With a broker, beat runs :func:`erp.relay.sweep` every ``EVENTS_SWEEP_SECONDS``.
The quick start (``make run``: SQLite, Celery eager) has no beat, so a failed
delivery would wait for its retry forever. There, one daemon thread per process
runs the sweep instead, every ``EVENTS_SWEEP_SECONDS``, and the retries it sends
run in that thread (eager mode).

It starts lazily, from :func:`ensure_started`: when the process first commits an
event (erp/relay.py) or serves its first request (erp/apps.py), so deliveries
left failed by a previous run are retried too, but a ``migrate`` or ``check``
starts nothing and a short command exits before its first pass. It does nothing
unless Celery is eager and ``EVENTS_EMBEDDED_SWEEP`` is on (the test suite turns
it off: it would sweep behind the tests' backs).

SQLite has one writer at a time. This thread's connections wait up to
``LOCK_WAIT_S`` for the write lock and take it when their transaction begins
(``BEGIN IMMEDIATE``), so they never deadlock with a request's transaction on
the upgrade from reader to writer. A pass that still finds the database locked
loses nothing: an error before the attempt is counted spends none, the pass is
logged and ends, and the next pass sends the delivery again. While nothing is
due a pass only reads, so it holds up no request's write.
"""

from __future__ import annotations

import atexit
import os
import threading
from collections.abc import Callable

import structlog
from celery import current_app
from django.conf import settings
from django.db import connections

logger = structlog.get_logger(__name__)
LOCK_WAIT_S = 30.0
# At exit, let a pass in progress record its attempt's outcome (left unrecorded,
# the next run would count that attempt as a crash).
FINISH_AT_EXIT_S = 5.0
THREAD_NAME = "erp-event-sweeper"

_lock = threading.Lock()
_stop = threading.Event()
_thread: threading.Thread | None = None
_pid: int | None = None


def enabled() -> bool:
    return bool(settings.EVENTS_EMBEDDED_SWEEP) and bool(current_app.conf.task_always_eager)


def ensure_started(sweep: Callable[[], int]) -> None:
    """Start this process's sweeper thread, running ``sweep`` (erp.relay.sweep,
    passed in: the relay imports this module), if it should run and is not
    running; cheap to call on every commit and request."""
    global _thread, _pid, _stop
    if _running() or not enabled():
        return
    with _lock:
        if _running():
            return
        # A forked child has a copy of the parent's state but not its thread.
        _pid, _stop = os.getpid(), threading.Event()
        _thread = threading.Thread(target=_run, args=(_stop, sweep), name=THREAD_NAME, daemon=True)
        _thread.start()
    logger.info("event_embedded_sweep_started", every_seconds=settings.EVENTS_SWEEP_SECONDS)


def _running() -> bool:
    return _pid == os.getpid() and _thread is not None and _thread.is_alive()


def _run(stop: threading.Event, sweep: Callable[[], int]) -> None:
    _wait_for_sqlite_locks()
    while not stop.wait(settings.EVENTS_SWEEP_SECONDS):
        _sweep_once(sweep)


def _sweep_once(sweep: Callable[[], int]) -> None:
    try:
        sweep()  # logs and counts a database it cannot use, and goes on with the others
    except Exception as exc:  # noqa: BLE001 - the thread must survive; the next pass retries
        logger.error("event_embedded_sweep_failed", error=str(exc) or type(exc).__name__)
    finally:
        try:
            # Django's connections are per thread: release this thread's (and
            # SQLite's file) between passes rather than for the process's life.
            connections.close_all()
        except Exception as exc:  # noqa: BLE001 - a broken connection is dropped anyway
            logger.warning("event_embedded_sweep_close_failed", error=str(exc) or type(exc).__name__)


def _wait_for_sqlite_locks() -> None:
    """This thread's SQLite connections wait for the write lock instead of
    failing, and take it at BEGIN (see the module's docstring)."""
    for alias in connections:
        connection = connections[alias]  # this thread's own wrapper; not yet connected
        if connection.vendor != "sqlite":
            continue
        options = {
            **connection.settings_dict.get("OPTIONS", {}),
            "timeout": LOCK_WAIT_S,
            "transaction_mode": "IMMEDIATE",
        }
        connection.settings_dict = {**connection.settings_dict, "OPTIONS": options}


def _finish_at_exit() -> None:
    if not _running():
        return
    _stop.set()
    _thread.join(FINISH_AT_EXIT_S)


atexit.register(_finish_at_exit)
