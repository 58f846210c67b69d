"""The probes that used to answer 500 (or HTML, or the wrong 4xx), one by one:
forged-but-signed tokens with malformed claims, a username no database can
store, a body past the size limit, a Host not served; each now a 4xx
problem+json with one log line and no traceback."""

import io
import json
import logging
import time
import uuid

import jwt
import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.test import Client

from erp.logging import WithoutTraceback

pytestmark = pytest.mark.django_db(databases="__all__")


def signed(token_type: str, **claims) -> str:
    """A token signed with the real key (what a leaked key or a bug in a
    client library produces), with ``claims`` over the usual ones."""
    now = int(time.time())
    payload = {"token_type": token_type, "exp": now + 300, "iat": now, "jti": uuid.uuid4().hex}
    payload["user_id"] = str(uuid.uuid4())
    payload.update(claims)
    return jwt.encode(payload, settings.SECRET_KEY, algorithm="HS256")


MALFORMED_CLAIMS = [
    {"exp": "99999999999"},
    {"exp": "soon"},
    {"exp": 1e30},
    {"exp": True},
    {"iat": "then"},
    {"user_id": "not-a-uuid"},
    {"user_id": 5},
    {"user_id": ["x"]},
    {"jti": ["x"]},
    {"jti": "j" * 1000},
]


@pytest.fixture
def client():
    return Client(raise_request_exception=False)


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/problem+json"
    return json.loads(response.content)


@pytest.mark.parametrize("claims", MALFORMED_CLAIMS, ids=[json.dumps(c)[:40] for c in MALFORMED_CLAIMS])
def test_a_signed_token_with_a_malformed_claim_is_a_401_everywhere(client, claims):
    me = client.get("/api/v1/auth/me/", HTTP_AUTHORIZATION=f"Bearer {signed('access', **claims)}")
    assert assert_problem(me, 401)["code"] == "token_not_valid"
    refresh = signed("refresh", **claims)
    for path in ("/api/v1/auth/token/refresh/", "/api/v1/auth/logout/"):
        response = client.post(path, {"refresh": refresh}, content_type="application/json")
        assert assert_problem(response, 401)["code"] == "token_not_valid"


@pytest.mark.parametrize(
    "username", ["\udfff", "a\x00b", "x" * 10_000, None, ["admin"], {"a": 1}], ids=lambda u: repr(u)[:20]
)
def test_a_login_with_a_username_no_user_can_have_is_a_400_and_no_lockout_is_recorded(client, username):
    body = json.dumps({"username": username, "password": "x"}).encode()
    response = client.post("/api/v1/auth/token/", body, content_type="application/json")
    assert 400 <= response.status_code < 500 and response.status_code != 401
    assert_problem(response, response.status_code)
    assert not AccessAttempt.objects.exists()


def test_a_body_past_the_limit_is_a_413_problem(client):
    body = b'{"username": "' + b"x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1) + b'"}'
    response = client.post("/api/v1/auth/token/", body, content_type="application/json")
    assert assert_problem(response, 413)["code"] == "too_large"


@pytest.fixture
def security_log():
    """What the configured django.security handler writes (LOGGING in settings)."""
    (handler,) = [
        handler
        for handler in logging.getLogger("django.security").handlers
        if any(isinstance(f, WithoutTraceback) for f in handler.filters)
    ]
    written = io.StringIO()
    previous = handler.setStream(written)
    yield written
    handler.setStream(previous)


def test_a_host_not_served_is_a_400_problem_logged_in_one_line(client, security_log):
    response = client.get("/api/v1/", HTTP_HOST="evil.example")
    assert assert_problem(response, 400)["code"] == "disallowed_host"
    lines = security_log.getvalue().splitlines()
    assert len(lines) == 1 and "evil.example" in lines[0]


def test_json_nested_too_deep_is_a_400_without_a_traceback_in_the_log(client, capfd):
    body = '{"username":' + "[" * 1100 + "]" * 1100 + "}"
    response = client.post("/api/v1/auth/token/", body, content_type="application/json")
    assert "nested" in assert_problem(response, 400)["detail"]
    assert "Traceback" not in capfd.readouterr().err
