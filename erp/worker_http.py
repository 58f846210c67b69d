"""The small HTTP server of a Celery worker or beat: Prometheus metrics, plus
/healthz (the process answers, and is not stalled: see ``liveness``) and /readyz
(its databases and broker are reachable) for probes."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import make_wsgi_app

from erp import health


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):
        pass


Liveness = Callable[[], str | None]  # what is stalled, or None


def _app(registry, liveness: Liveness | None):
    metrics = make_wsgi_app(registry)

    def app(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == "/healthz":
            stalled = liveness() if liveness else None
            status = "503 Service Unavailable" if stalled else "200 OK"
            start_response(status, [("Content-Type", "application/json")])
            body = {"status": "stalled", "detail": stalled} if stalled else {"status": "ok"}
            return [json.dumps(body).encode()]
        if path == "/readyz":
            down = [problem for problem in (health._check_databases(), health._check_broker()) if problem]
            status = "503 Service Unavailable" if down else "200 OK"
            start_response(status, [("Content-Type", "text/plain")])
            return [("; ".join(down) or "ok").encode()]
        return metrics(environ, start_response)

    return app


def serve(port: int, registry, *, liveness: Liveness | None = None) -> WSGIServer:
    app = _app(registry, liveness)
    server = make_server("0.0.0.0", port, app, _ThreadingServer, handler_class=_QuietHandler)  # noqa: S104 - probes come from outside the pod
    threading.Thread(target=server.serve_forever, name="worker-http", daemon=True).start()
    return server
