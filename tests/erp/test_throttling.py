"""Throttles that hold: at most the rate passes under concurrency (counted
atomically in Redis), a made-up X-Forwarded-For buys nothing, and logins are
limited per username whatever address they come from."""

import threading
import time

import pytest
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from tests.conftest import token_for

pytestmark = pytest.mark.django_db


def fresh_window(seconds: int = 60, margin: float = 5) -> None:
    """Start the test well inside a fixed window, so its requests share one."""
    left = seconds - time.time() % seconds
    if left < margin:
        time.sleep(left + 0.05)


@pytest.fixture
def rates(monkeypatch):
    def set_rate(scope: str, rate: str) -> None:
        monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, scope, rate)

    return set_rate


def anonymous_statuses(count: int, **headers) -> list[int]:
    client = APIClient()
    return [client.get("/api/v1/", **headers).status_code for _ in range(count)]


def test_a_made_up_forwarded_for_does_not_make_a_new_client(rates):
    rates("anon", "3/minute")
    fresh_window()
    statuses = [
        APIClient().get("/api/v1/", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").status_code for n in range(6)
    ]
    assert statuses == [200, 200, 200, 429, 429, 429]


def test_behind_a_trusted_proxy_the_address_it_saw_is_the_client(rates, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    rates("anon", "2/minute")
    fresh_window()
    # The client writes what it likes on the left; the ingress appends what it saw.
    spoofed = [
        APIClient().get("/api/v1/", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}, 203.0.113.7").status_code
        for n in range(4)
    ]
    assert spoofed == [200, 200, 429, 429]
    other_client = APIClient().get("/api/v1/", HTTP_X_FORWARDED_FOR="203.0.113.8")
    assert other_client.status_code == 200


def test_logins_are_limited_per_username_from_any_address(rates, make_user):
    rates("login", "3/minute")
    rates("anon", "1000/minute")
    make_user("viewer", username="alice")
    fresh_window()
    tries = [
        APIClient(REMOTE_ADDR=f"192.0.2.{n}")
        .post("/api/v1/auth/token/", {"username": "ALICE", "password": "wrong"}, format="json")
        .status_code
        for n in range(5)
    ]
    assert tries == [401, 401, 401, 429, 429]
    other = APIClient().post("/api/v1/auth/token/", {"username": "bob", "password": "x"}, format="json")
    assert other.status_code == 401


@pytest.mark.django_db(transaction=True)
def test_concurrent_clients_get_at_most_the_rate_through(rates, make_user):
    rates("user", "20/minute")
    token = token_for(make_user("viewer"))
    fresh_window(margin=15)
    statuses: list[int] = []
    start = threading.Barrier(12)

    def client_loop():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        start.wait()
        for _ in range(5):
            statuses.append(client.get("/api/v1/auth/me/").status_code)

    threads = [threading.Thread(target=client_loop) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(statuses) == 60
    assert statuses.count(200) == 20  # exactly the rate: one atomic count per request
    assert statuses.count(429) == 40
