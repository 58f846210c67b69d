"""Conventions every endpoint shares: problem+json, request ids, throttling,
pagination and database errors mapped to client errors."""

import io
import json
import logging

import pytest
from django.conf import settings
from django.db import IntegrityError, connections, transaction
from django.db.models import ProtectedError
from rest_framework.test import APIClient
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

from core.models import Company, User
from erp.exceptions import problem_exception_handler
from erp.idempotency import _lock_id
from erp.logging import formatter

pytestmark = pytest.mark.django_db

PROBLEM_KEYS = {"type", "title", "status", "detail"}
# Every problem body has exactly these; a validation error adds "errors".
PROBLEM_SHAPE = {"type", "title", "status", "detail", "code"}


def assert_problem(response, status):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert set(body) >= PROBLEM_KEYS
    assert body["status"] == status
    return body


class TestProblemDocuments:
    def test_unknown_path_is_a_404_problem(self, admin_api):
        assert_problem(admin_api.get("/api/v1/nothing-here/"), 404)

    def test_unknown_api_version_is_404(self, admin_api):
        assert_problem(admin_api.get("/api/v2/auth/me/"), 404)

    def test_method_not_allowed_is_405(self, admin_api):
        assert_problem(admin_api.put("/api/v1/auth/me/", {}), 405)

    def test_malformed_json_is_400(self, admin_api):
        response = admin_api.post(
            "/api/v1/core/users/", data=b'{"username": ', content_type="application/json"
        )
        assert_problem(response, 400)

    def test_non_json_body_is_415(self, admin_api):
        response = admin_api.post("/api/v1/core/users/", data="username=x", content_type="text/plain")
        assert_problem(response, 415)

    @pytest.mark.parametrize(
        "path",
        [
            "/api/v1/nothing-here/",
            "/api/nothing/",
            "/api/v2/auth/me/",
            "/api/v1/core/users/not-a-uuid/",
            "/api/v1/core/users/0123456789abcdef0123456789abcdef0123/",  # 36 hex digits: no UUID
            "/api/v1/workflows/not-a-uuid/",
        ],
    )
    def test_unknown_paths_are_404_problems_with_debug_on(self, admin_api, settings, path):
        settings.DEBUG = True  # Django would answer with its HTML debug page
        body = assert_problem(admin_api.get(path), 404)
        assert body["code"] == "not_found"
        assert_problem(admin_api.post(path, {}), 404)

    def test_a_missing_trailing_slash_redirects_reads_and_names_the_path_for_writes(
        self, admin_api, settings
    ):
        settings.DEBUG = True
        response = admin_api.get("/api/v1/core/users", {"page": 1})
        assert response.status_code == 301
        assert response["Location"] == "/api/v1/core/users/?page=1"
        body = assert_problem(admin_api.post("/api/v1/core/users", {}), 404)  # a redirect would drop the body
        assert "/api/v1/core/users/" in body["detail"]

    def test_validation_errors_list_field_code_and_message(self, admin_api):
        body = assert_problem(admin_api.post("/api/v1/core/users/", {"email": "not-an-email"}), 400)
        errors = {e["field"]: e for e in body["errors"]}
        assert errors["username"]["code"] == "required"
        assert errors["password"]["code"] == "required"
        assert errors["email"]["code"] == "invalid"
        assert all(e["message"] for e in body["errors"])


@pytest.mark.django_db(transaction=True)  # the 409 needs a lock held from another connection
def test_every_error_body_has_the_same_shape(client_as, make_user):
    admin = client_as("admin")
    user = {"username": "shape", "password": "Str0ng-Pass-1"}
    bodies = {}

    bodies["validation"] = admin.post("/api/v1/core/users/", {"username": ""}).json()
    bodies["not_found"] = admin.get("/api/v1/nothing/").json()
    bodies["forbidden"] = client_as("viewer").get("/api/v1/core/users/").json()

    bad_token = APIClient()
    bad_token.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    bodies["token_not_valid (access)"] = bad_token.get("/api/v1/auth/me/").json()
    bodies["token_not_valid (refresh)"] = (
        APIClient().post("/api/v1/auth/token/refresh/", {"refresh": "x"}).json()
    )

    victim = make_user("viewer")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        APIClient().post("/api/v1/auth/token/", {"username": victim.username, "password": "wrong"})
    bodies["login_locked_out"] = (
        APIClient().post("/api/v1/auth/token/", {"username": victim.username, "password": "x"}).json()
    )

    admin.post("/api/v1/core/users/", user, HTTP_IDEMPOTENCY_KEY="k1")
    bodies["idempotency_key_reused"] = admin.post(
        "/api/v1/core/users/", {**user, "username": "other"}, HTTP_IDEMPOTENCY_KEY="k1"
    ).json()
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_lock_id(str(admin.user.pk), "k2")])
            bodies["idempotency_key_in_flight"] = admin.post(
                "/api/v1/core/users/", user, HTTP_IDEMPOTENCY_KEY="k2"
            ).json()
            cursor.execute("ROLLBACK")
    finally:
        other.close()

    assert set(bodies.pop("validation")) == PROBLEM_SHAPE | {"errors"}
    shapes = {name: set(body) for name, body in bodies.items()}
    assert shapes == {name: PROBLEM_SHAPE for name in bodies}
    assert {body["code"] for body in bodies.values()} == {
        "not_found",
        "permission_denied",
        "token_not_valid",
        "login_locked_out",
        "idempotency_key_reused",
        "idempotency_key_in_flight",
    }


class TestDatabaseErrorsAreClientErrors:
    def test_nul_byte_in_a_query_parameter_is_400(self, admin_api):
        assert_problem(admin_api.get("/api/v1/core/users/", {"search": "a\x00b"}), 400)

    def test_nul_byte_in_a_body_field_is_400_and_nothing_is_created(self, admin_api):
        response = admin_api.post("/api/v1/core/users/", {"username": "a\x00b", "password": "Str0ng-Pass-1"})
        assert_problem(response, 400)
        assert not User.objects.filter(username__startswith="a").exists()

    def problem(self, exc, status):
        response = problem_exception_handler(exc, {"request": None, "view": None})
        assert response.status_code == status
        assert response.content_type == "application/problem+json"
        assert response.data["status"] == status and set(response.data) >= PROBLEM_KEYS
        return response.data

    def test_unique_violation_is_409(self, make_user):
        user = make_user()
        with pytest.raises(IntegrityError) as caught, transaction.atomic():
            User.objects.create(username=user.username)
        self.problem(caught.value, 409)

    def test_check_constraint_violation_is_409_naming_the_constraint(self):
        with pytest.raises(IntegrityError) as caught, transaction.atomic():
            Company.objects.update(base_currency="usd")
        body = self.problem(caught.value, 409)
        assert "core_company_currency_iso4217" in body["detail"]

    def test_protected_delete_is_409(self):
        self.problem(ProtectedError("referenced", set()), 409)


class TestRequestId:
    def test_generated_when_absent(self, api):
        assert len(api.get("/api/v1/auth/me/")["X-Request-ID"]) >= 16

    def test_taken_from_the_request(self, api):
        assert api.get("/healthz", HTTP_X_REQUEST_ID="abc-123")["X-Request-ID"] == "abc-123"

    def test_unsafe_incoming_id_is_replaced(self, api):
        assert api.get("/healthz", HTTP_X_REQUEST_ID="bad id\n")["X-Request-ID"] != "bad id\n"

    def test_logs_are_json_with_request_id_and_user_id(self, client_as):
        client = client_as("viewer")
        stream = io.StringIO()
        handler = logging.StreamHandler(stream)
        handler.setFormatter(formatter("json"))
        logger = logging.getLogger("django_structlog")
        level = logger.level
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        try:
            response = client.get("/api/v1/auth/me/", HTTP_X_REQUEST_ID="trace-42")
        finally:
            logger.removeHandler(handler)
            logger.setLevel(level)
        lines = [json.loads(line) for line in stream.getvalue().splitlines()]
        finished = next(line for line in lines if line["event"] == "request_finished")
        assert finished["request_id"] == response["X-Request-ID"] == "trace-42"
        assert finished["user_id"] == str(client.user.pk)
        assert finished["level"] == "info" and "timestamp" in finished


class TestThrottling:
    def test_user_rate_gives_429_problem_with_retry_after(self, client_as, monkeypatch):
        monkeypatch.setitem(UserRateThrottle.THROTTLE_RATES, "user", "3/minute")
        client = client_as("viewer")
        statuses = [client.get("/api/v1/core/company/").status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        response = client.get("/api/v1/core/company/")
        assert_problem(response, 429)
        assert int(response["Retry-After"]) > 0

    def test_anonymous_rate_applies_to_the_token_endpoint(self, monkeypatch):
        monkeypatch.setitem(AnonRateThrottle.THROTTLE_RATES, "anon", "2/minute")
        client = APIClient()
        statuses = [client.post("/api/v1/auth/token/", {}, format="json").status_code for _ in range(3)]
        assert statuses == [400, 400, 429]
