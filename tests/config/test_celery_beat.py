"""Celery beat serves the worker's small HTTP server (erp/worker_http.py) on
BEAT_METRICS_PORT: what the beat container's liveness and readiness probes call."""

import json
import time
import urllib.error
import urllib.request

import pytest
from prometheus_client import REGISTRY

import config.celery
from tests.worker import Beat, RedisBroker, free_port, wait_until

# No periodic task falls due while the test runs: nothing is queued on that broker.
QUIET = {"EVENTS_SWEEP_SECONDS": "3600"}


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:  # noqa: S310 - a local test URL
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def answers(url: str):
    try:
        return get(url)
    except OSError:  # not listening yet
        return None


@pytest.fixture
def beat(tmp_path):
    # The broker the beat connects to: a redis-server of the test's own, on a free
    # port (not the machine's Redis, which parallel or concurrent runs share).
    broker = RedisBroker(tmp_path)
    broker.start()
    started = []

    def start(**settings: str) -> Beat:
        process = Beat(broker.url, tmp_path / f"beat-{len(started)}.log", **QUIET, **settings)
        started.append(process)
        process.start()
        return process

    yield start
    for process in started:
        process.kill()
    broker.stop()


# Marked so that the test database exists: the beat's /readyz connects to it.
@pytest.mark.django_db
def test_a_real_beat_answers_its_probes_and_serves_metrics(beat):
    port = free_port()
    process = beat(BEAT_METRICS_PORT=str(port))
    base = f"http://127.0.0.1:{port}"
    status, body = wait_until(lambda: answers(f"{base}/healthz"), 30, message="beat /healthz")
    assert (status, body) == (200, '{"status": "ok"}'), process.log_path.read_text()
    # Readiness reaches the test database and the broker, as the worker's does.
    assert get(f"{base}/readyz") == (200, "ok")
    status, metrics = get(f"{base}/metrics")
    assert status == 200 and "python_info" in metrics
    assert process.process.poll() is None


def test_port_zero_serves_nothing_and_an_embedded_beat_leaves_the_port_to_its_worker(monkeypatch, settings):
    served = []
    monkeypatch.setattr("erp.worker_http.serve", lambda port, registry, **kwargs: served.append(port))
    settings.BEAT_METRICS_PORT = 0  # what the tests and the bench set
    config.celery.start_beat_exporter()
    assert served == []
    settings.BEAT_METRICS_PORT = 9809
    monkeypatch.setattr(config.celery, "_in_worker", True)  # `worker -B`: the worker serves
    config.celery.start_beat_exporter()
    assert served == []
    monkeypatch.setattr(config.celery, "_in_worker", False)  # `celery beat`
    config.celery.start_beat_exporter()
    assert served == [9809]


def test_beat_liveness_fails_once_the_scheduler_stops_ticking(monkeypatch, settings):
    from erp.worker_http import _app

    settings.CELERY_BEAT_MAX_LOOP_INTERVAL = 30
    app = _app(REGISTRY, config.celery.beat_stalled)

    def healthz() -> tuple[str, dict]:
        answer = {}
        body = app({"PATH_INFO": "/healthz"}, lambda status, headers: answer.update(status=status))
        return answer["status"], json.loads(b"".join(body))

    monkeypatch.setattr(config.celery.WatchedScheduler, "ticked_at", time.monotonic() - 60)
    assert healthz() == ("200 OK", {"status": "ok"})
    monkeypatch.setattr(config.celery.WatchedScheduler, "ticked_at", time.monotonic() - 121)
    status, body = healthz()
    assert status == "503 Service Unavailable"
    assert body["status"] == "stalled" and "has not ticked for 12" in body["detail"]
