"""gunicorn's settings (``gunicorn --config python:config.gunicorn``): the
image's CMD and scripts/prod-local.sh. The command line gives the rest."""

import os
from pathlib import Path

import gunicorn.http.wsgi

# No "Server: gunicorn" banner: what serves the API, and which version, is
# nobody's business (every response's Server header reads "erp").
gunicorn.http.wsgi.SERVER = "erp"


def on_starting(server) -> None:
    """With PROMETHEUS_MULTIPROC_DIR (prometheus_client's multiprocess mode) each
    worker writes its series there and /metrics sums them: start from an empty
    directory, as counters restart with the server."""
    shared = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if shared:
        Path(shared).mkdir(parents=True, exist_ok=True)
        for stale in Path(shared).glob("*.db"):
            stale.unlink()


def child_exit(server, worker) -> None:
    """A worker that exits stops counting in its gauges' live values."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
