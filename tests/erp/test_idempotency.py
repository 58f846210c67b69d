"""Idempotency-Key on POST, exercised through the users endpoint (a real effect)."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone
from rest_framework.test import APIClient

from core.models import User
from erp.idempotency import _lock_id
from erp.models import IdempotencyRecord
from erp.tasks import purge_idempotency_keys
from tests.conftest import token_for

USERS = "/api/v1/core/users/"


def new_user(name):
    return {"username": name, "password": "Str0ng-Pass-1", "roles": ["viewer"]}


@pytest.mark.django_db(databases="__all__")  # the purge visits every database
class TestSequential:
    def test_replay_returns_the_stored_response_without_a_second_effect(self, admin_api):
        first = admin_api.post(USERS, new_user("eva"), HTTP_IDEMPOTENCY_KEY="create-eva")
        second = admin_api.post(USERS, new_user("eva"), HTTP_IDEMPOTENCY_KEY="create-eva")

        assert first.status_code == second.status_code == 201
        assert second["Idempotent-Replayed"] == "true"
        assert not first.has_header("Idempotent-Replayed")
        assert second.json() == first.json()
        assert second["Content-Type"] == "application/json"
        assert User.objects.filter(username="eva").count() == 1

    def test_same_key_with_another_body_is_422(self, admin_api):
        admin_api.post(USERS, new_user("fred"), HTTP_IDEMPOTENCY_KEY="k")
        response = admin_api.post(USERS, new_user("gina"), HTTP_IDEMPOTENCY_KEY="k")
        assert response.status_code == 422
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["code"] == "idempotency_key_reused"
        assert not User.objects.filter(username="gina").exists()

    def test_the_request_log_of_a_422_or_a_replay_names_the_user(self, client_as):
        import structlog

        client = client_as("admin")
        client.post(USERS, new_user("ivo"), HTTP_IDEMPOTENCY_KEY="logged")
        with structlog.testing.capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
            client.post(USERS, new_user("ivo"), HTTP_IDEMPOTENCY_KEY="logged")  # replayed
            client.post(USERS, new_user("jan"), HTTP_IDEMPOTENCY_KEY="logged")  # 422
        finished = [line for line in logs if line["event"] in ("request_finished", "request_failed")]
        assert [line["code"] for line in finished] == [201, 422]
        assert {line["user_id"] for line in finished} == {str(client.user.pk)}

    def test_json_key_order_does_not_make_a_different_body(self, admin_api):
        admin_api.post(USERS, {"username": "hal", "password": "Str0ng-Pass-1"}, HTTP_IDEMPOTENCY_KEY="o")
        replay = admin_api.post(
            USERS, {"password": "Str0ng-Pass-1", "username": "hal"}, HTTP_IDEMPOTENCY_KEY="o"
        )
        assert replay["Idempotent-Replayed"] == "true"

    def test_keys_are_scoped_per_user(self, client_as):
        one, two = client_as("admin"), client_as("admin")
        assert one.post(USERS, new_user("ian"), HTTP_IDEMPOTENCY_KEY="same").status_code == 201
        assert two.post(USERS, new_user("jan"), HTTP_IDEMPOTENCY_KEY="same").status_code == 201
        assert User.objects.filter(username__in=["ian", "jan"]).count() == 2

    def test_client_errors_are_stored_and_replayed_too(self, admin_api):
        bad = {"username": "kim", "password": "1"}
        first = admin_api.post(USERS, bad, HTTP_IDEMPOTENCY_KEY="bad")
        again = admin_api.post(USERS, bad, HTTP_IDEMPOTENCY_KEY="bad")
        assert first.status_code == again.status_code == 400
        assert again["Idempotent-Replayed"] == "true"
        assert again["Content-Type"] == "application/problem+json"

    def test_key_length_is_validated(self, admin_api):
        response = admin_api.post(USERS, new_user("lee"), HTTP_IDEMPOTENCY_KEY="x" * 256)
        assert response.status_code == 400
        assert not User.objects.filter(username="lee").exists()

    def test_without_a_key_nothing_is_stored(self, admin_api):
        admin_api.post(USERS, new_user("max"))
        assert not IdempotencyRecord.objects.exists()

    def test_expired_keys_are_purged_and_may_be_reused(self, admin_api, settings):
        admin_api.post(USERS, new_user("ned"), HTTP_IDEMPOTENCY_KEY="old")
        IdempotencyRecord.objects.update(created_at=timezone.now() - settings.IDEMPOTENCY_TTL - timedelta(1))
        fresh = admin_api.post(USERS, new_user("ola"), HTTP_IDEMPOTENCY_KEY="fresh")
        assert fresh.status_code == 201

        assert purge_idempotency_keys.delay().get() == 1
        assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["fresh"]
        reuse = admin_api.post(USERS, new_user("pia"), HTTP_IDEMPOTENCY_KEY="old")
        assert reuse.status_code == 201 and not reuse.has_header("Idempotent-Replayed")


@pytest.mark.django_db(transaction=True)
def test_a_request_still_in_flight_gets_409(admin_api):
    # Hold the key's lock from another connection, as a first request would.
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_lock_id(str(admin_api.user.pk), "busy")])
            response = admin_api.post(USERS, new_user("quin"), HTTP_IDEMPOTENCY_KEY="busy")
            cursor.execute("ROLLBACK")
    finally:
        other.close()
    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_key_in_flight"
    assert not User.objects.filter(username="quin").exists()


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_requests_with_one_key_have_one_effect(make_user):
    responses = concurrent_posts(token_for(make_user("admin")), USERS, new_user("rui"), key="burst")
    connection.close()

    assert User.objects.filter(username="rui").count() == 1
    created = [r for r in responses if r.status_code == 201 and not r.has_header("Idempotent-Replayed")]
    replayed = [r for r in responses if r.status_code == 201 and r.has_header("Idempotent-Replayed")]
    in_flight = [
        r for r in responses if r.status_code == 409 and r.json()["code"] == "idempotency_key_in_flight"
    ]
    assert len(created) == 1
    assert len(created) + len(replayed) + len(in_flight) == 20  # no unique-violation 409, no 5xx
    assert {r.json()["id"] for r in replayed} <= {created[0].json()["id"]}


def concurrent_posts(token: str, path: str, body: dict, *, key: str, count: int = 20) -> list:
    """``count`` clients POST the same body with the same Idempotency-Key at once
    (threads released together, each on its own database connections)."""
    barrier = threading.Barrier(count)
    responses = []

    def post():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        barrier.wait()
        try:
            responses.append(client.post(path, body, HTTP_IDEMPOTENCY_KEY=key, format="json"))
        finally:
            for alias in connections:
                connections[alias].close()

    threads = [threading.Thread(target=post) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return responses
