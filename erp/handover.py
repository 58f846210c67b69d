"""Hands committed deliveries to the broker off the publishing thread.

A publishing request commits and returns; one daemon thread per process sends
what it was given to the broker, draining everything queued since its last pass.
The request neither waits for the broker round trip nor, when the broker is down,
for the connection attempts that fail.

Nothing can be lost this way: the deliveries were written "handed over"
(``enqueued_at``) in the publishing transaction, so deliveries a process dies
holding are, to the sweep, lost messages, resent after
``EVENTS_REDELIVER_AFTER_SECONDS``. A failed send clears ``enqueued_at`` (in
:func:`erp.relay.enqueue`) so the next sweep resends them at once. The process
flushes at exit (and a Celery pool process when it shuts down) so that a clean
stop leaves nothing to the sweep.
"""

from __future__ import annotations

import atexit
import os
import queue
import threading
import time
from collections.abc import Callable

import structlog
from celery.signals import worker_process_shutdown
from django.db import connections

logger = structlog.get_logger(__name__)
FLUSH_AT_EXIT_S = 5.0
LINGER_S = 0.005

Send = Callable[[list[int], str], int]


class Handover:
    def __init__(self, send: Send):
        self._send = send
        self._lock = threading.Lock()
        self._progress = threading.Condition(self._lock)
        self._queue: queue.SimpleQueue[tuple[str, list[int]]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None
        self._submitted = 0
        self._handled = 0

    def submit(self, delivery_ids: list[int], alias: str) -> None:
        with self._lock:
            self._ensure_thread()
            self._submitted += 1
            self._queue.put((alias, delivery_ids))

    def flush(self, timeout: float) -> bool:
        """Wait until everything submitted so far was handed over (or failed and
        was left to the sweep); False when ``timeout`` passed first."""
        with self._progress:
            if self._pid != os.getpid():
                return True  # nothing was submitted in this process
            target = self._submitted
            return self._progress.wait_for(lambda: self._handled >= target, timeout)

    def _ensure_thread(self) -> None:
        # A forked child (a Celery pool process, a gunicorn worker) has a copy
        # of the parent's queue but not its thread: start afresh.
        if self._pid == os.getpid() and self._thread is not None and self._thread.is_alive():
            return
        if self._pid != os.getpid():
            self._queue = queue.SimpleQueue()
            self._submitted = self._handled = 0
        self._pid = os.getpid()
        self._thread = threading.Thread(target=self._run, name="erp-event-handover", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            time.sleep(LINGER_S)
            while True:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self._hand_over(batch)
            with self._progress:
                self._handled += len(batch)
                self._progress.notify_all()

    def _hand_over(self, batch: list[tuple[str, list[int]]]) -> None:
        by_alias: dict[str, list[int]] = {}
        for alias, delivery_ids in batch:
            by_alias.setdefault(alias, []).extend(delivery_ids)
        try:
            for alias, delivery_ids in by_alias.items():
                try:
                    self._send(delivery_ids, alias)
                except Exception as exc:  # noqa: BLE001 - the thread must survive; the sweep resends
                    logger.error(
                        "event_handover_failed", alias=alias, deliveries=len(delivery_ids), error=str(exc)
                    )
        finally:
            # This thread touches the database only when a send failed; don't
            # keep that connection open for the life of the process.
            connections.close_all()


def _flush_at_exit(handover: Handover) -> None:
    if not handover.flush(FLUSH_AT_EXIT_S):
        logger.warning("event_handover_unfinished_at_exit", note="the sweep resends what is left")


def install(send: Send) -> Handover:
    handover = Handover(send)
    atexit.register(_flush_at_exit, handover)
    worker_process_shutdown.connect(lambda **kwargs: _flush_at_exit(handover), weak=False)
    return handover
