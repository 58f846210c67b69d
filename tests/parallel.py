"""The suite on several processes (pytest-xdist; scripts/test.sh passes
``-n 2 --dist loadfile``), each as isolated as a run of its own:

* Test databases: pytest-django suffixes every alias's test database with the
  worker's id (``test_erp_gw0``, ``test_erp_estoque_gw0``); every process the
  tests start reads them from ``tests.worker.database_env()``.
* Cache: each worker gets a Redis database of its own on the run's
  redis-server (``own_cache_per_worker``), in its process and in every process
  it starts (CACHE_URL), since the tests flush it between tests.
* Servers the tests start (brokers, RabbitMQ nodes, control Redis, gunicorn)
  are per process already: own free ports, names and directories.

The order of the tests on each worker (``InOrderFileScheduling``) is the
order of a run on one process: pytest-django runs the tests on a rolled-back
transaction before the transactional ones, whose flush at teardown also
empties what the migrations wrote (roles, the default chart of accounts).
xdist's own ``loadfile`` hands out whole files, the biggest first, so a worker
could run a file's transactional tests and then another file's tests that
need the migrations' rows. Here the unit of work is a run of consecutive
tests of one file in the collected order, handed out in that order: on every
worker a flush never comes before a test that needs the migrations' rows, and
a file's module fixtures start no more often than on one process (pytest tears
them down between a file's runs there too).
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from django.conf import settings
from django.test import override_settings


def own_cache_per_worker(config) -> None:
    """Under xdist, CACHE_URL's Redis database plus the worker's number
    (gw0 keeps the run's own, gw1 the next...), here and for the processes this
    worker starts."""
    worker = getattr(config, "workerinput", {}).get("workerid")
    url = os.environ.get("CACHE_URL", "")
    if not worker or urlsplit(url).scheme != "redis":
        return
    parts = urlsplit(url)
    index = int(parts.path.strip("/") or 0) + int(worker.removeprefix("gw"))
    own = parts._replace(path=f"/{index}").geturl()
    os.environ["CACHE_URL"] = own
    configured = {**settings.CACHES, "default": {**settings.CACHES["default"], "LOCATION": own}}
    override_settings(CACHES=configured).enable()  # setting_changed: Django drops its cache clients


# Files whose tests run a Celery worker at production timings and wait for it:
# on one process, one after the other, so they never starve each other of CPU.
ONE_AFTER_THE_OTHER = ("tests/erp/test_event_relay_worker.py", "tests/erp/test_relay_faults.py")


def in_order_file_scheduling(config, log):
    from xdist.scheduler import LoadFileScheduling

    class InOrderFileScheduling(LoadFileScheduling):
        """``--dist loadfile`` in the collected order (see the module's docstring)."""

        def schedule(self) -> None:
            if self.collection is None:
                self._runs = {}
                previous, number = None, 0
                for nodeid in next(iter(self.registered_collections.values()), []):
                    path = nodeid.split("::", 1)[0]
                    if path != previous:
                        previous, number = path, number + 1
                    together = path in ONE_AFTER_THE_OTHER
                    self._runs[nodeid] = "together" if together else f"{number:06d}:{path}"
                self.config.option.loadscopereorder = False  # the collected order, not the biggest first
            super().schedule()

        def _split_scope(self, nodeid: str) -> str:
            return self._runs[nodeid]

    return InOrderFileScheduling(config, log)
