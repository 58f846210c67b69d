"""scripts/prod-local.sh, the README's production-like local run: gunicorn with
DEBUG off behind a TLS-terminating proxy's headers answers as a deployment does
(HTTPS redirect, problem+json errors, static files collected and served)."""

import os
import signal
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.worker import free_port, wait_until

ROOT = Path(__file__).resolve().parents[2]
PROXIED = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.5"}


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def fetch(url: str, headers: dict | None = None):
    opener = urllib.request.build_opener(NoRedirect)
    try:
        request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 - http://127.0.0.1 only
        with opener.open(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def prod_local_database() -> str:
    """The script's database, named after the run's (erp_prod_local_test for the
    default erp) and the pytest-xdist worker's: concurrent runs never share it."""
    name = urlsplit(os.environ["DATABASE_URL"]).path.strip("/")
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    return f"{name}_prod_local_test" + (f"_{worker}" if worker else "")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.endswith("DATABASE_URL") and key not in ("DEBUG", "SECURE_SSL_REDIRECT", "CACHE_URL")
    }
    env.update(PORT=str(port), PROD_LOCAL_DATABASE=prod_local_database(), WEB_CONCURRENCY="2")
    log = (tmp_path_factory.mktemp("prod-local") / "server.log").open("wb")
    process = subprocess.Popen(
        ["scripts/prod-local.sh"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        assert process.poll() is None, "scripts/prod-local.sh exited"
        try:
            return fetch(f"{base}/healthz")[0] == 200
        except OSError:
            return False

    wait_until(answers, 180, interval=0.5, message="scripts/prod-local.sh serving")
    yield base
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(30)


def test_plain_http_is_redirected_to_https(server):
    status, headers, _body = fetch(f"{server}/api/v1/")
    assert status == 301
    assert headers["Location"].startswith("https://")


def test_behind_the_proxy_headers_the_api_answers_with_debug_off(server):
    status, headers, body = fetch(f"{server}/api/v1/", PROXIED)
    assert status == 200 and b'"apis"' in body
    status, headers, body = fetch(f"{server}/no/such/page/", PROXIED)
    assert status == 404
    assert headers["Content-Type"] == "application/problem+json"  # not Django's debug page


def test_static_files_are_collected_and_served(server):
    status, headers, _body = fetch(f"{server}/static/admin/css/base.css", PROXIED)
    assert status == 200
    assert headers["Content-Type"].startswith("text/css")


def requests_counted(base: str) -> float:
    """django-prometheus' GET request counter, as one scrape of /metrics reports it."""
    _status, _headers, body = fetch(f"{base}/metrics")
    total = 0.0
    for line in body.decode().splitlines():
        if line.startswith('django_http_requests_total_by_method_total{method="GET"}'):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_metrics_sum_every_gunicorn_worker_so_counters_never_go_back(server):
    seen = []
    for _round in range(6):
        for _ in range(10):
            fetch(f"{server}/api/v1/", PROXIED)
        seen.append(requests_counted(server))
    assert seen == sorted(seen), f"a counter went back between scrapes: {seen}"
    assert seen[-1] >= 60  # every worker's requests, not one worker's share
