from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone
from rest_framework.test import APIClient

from tests.conftest import PASSWORD, token_for

pytestmark = pytest.mark.django_db

TOKEN = "/api/v1/auth/token/"
REFRESH = "/api/v1/auth/token/refresh/"
LOGOUT = "/api/v1/auth/logout/"
ME = "/api/v1/auth/me/"


def login(username, password=PASSWORD):
    return APIClient().post(TOKEN, {"username": username, "password": password}, format="json")


def bearer(token):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def test_token_pair_then_me_shows_identity_and_roles(make_user):
    user = make_user("sales", "manager", email="ana@example.com")
    response = login(user.username)
    assert response.status_code == 200
    assert set(response.json()) == {"access", "refresh"}

    me = bearer(response.json()["access"]).get(ME)
    assert me.status_code == 200
    assert me.json() == {
        "id": str(user.pk),
        "username": user.username,
        "email": "ana@example.com",
        "roles": ["manager", "sales"],
    }


def test_wrong_password_is_401_problem(make_user):
    user = make_user("sales")
    response = login(user.username, "wrong-password")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["status"] == 401


def test_me_without_token_is_401(api):
    response = api.get(ME)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_expired_access_token_is_rejected(make_user):
    user = make_user("viewer")
    token = token_for(user)
    later = timezone.now() + settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"] + timedelta(seconds=5)
    with time_machine.travel(later, tick=False):
        response = bearer(token).get(ME)
    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


def test_refresh_rotates_and_the_old_refresh_token_is_dead(make_user):
    user = make_user("viewer")
    first = login(user.username).json()

    rotated = APIClient().post(REFRESH, {"refresh": first["refresh"]}, format="json")
    assert rotated.status_code == 200
    assert set(rotated.json()) == {"access", "refresh"}
    assert rotated.json()["refresh"] != first["refresh"]
    assert bearer(rotated.json()["access"]).get(ME).status_code == 200

    reused = APIClient().post(REFRESH, {"refresh": first["refresh"]}, format="json")
    assert reused.status_code == 401
    assert APIClient().post(REFRESH, {"refresh": rotated.json()["refresh"]}, format="json").status_code == 200


def test_logout_blacklists_the_refresh_token(make_user):
    user = make_user("viewer")
    tokens = login(user.username).json()

    response = APIClient().post(LOGOUT, {"refresh": tokens["refresh"]}, format="json")
    assert response.status_code == 205
    assert APIClient().post(REFRESH, {"refresh": tokens["refresh"]}, format="json").status_code == 401


def test_logout_with_garbage_is_a_client_error(api):
    assert api.post(LOGOUT, {"refresh": "not-a-token"}, format="json").status_code == 401
    assert api.post(LOGOUT, {}, format="json").status_code == 400


def test_inactive_user_cannot_log_in(make_user):
    user = make_user("viewer", is_active=False)
    assert login(user.username).status_code == 401


class TestLockout:
    def fail(self, username, times):
        for _ in range(times):
            assert login(username, "wrong-password").status_code == 401

    def test_five_failures_lock_the_username_even_with_the_right_password(self, make_user):
        user = make_user("viewer")
        self.fail(user.username, settings.AXES_FAILURE_LIMIT - 1)
        assert login(user.username).status_code == 200  # below the limit: still fine

        self.fail(user.username, settings.AXES_FAILURE_LIMIT)
        locked = login(user.username)
        assert locked.status_code == 429
        assert locked["Content-Type"] == "application/problem+json"
        assert locked.json()["code"] == "login_locked_out"

    def test_lockout_says_when_to_retry(self, make_user):
        user = make_user("viewer")
        self.fail(user.username, settings.AXES_FAILURE_LIMIT)
        cool_off = settings.AXES_COOLOFF_TIME.total_seconds()

        retry_after = int(login(user.username)["Retry-After"])
        assert cool_off - 5 <= retry_after <= cool_off

        with time_machine.travel(timezone.now() + settings.AXES_COOLOFF_TIME - timedelta(seconds=60)):
            later = login(user.username)
        assert later.status_code == 429
        assert 55 <= int(later["Retry-After"]) <= 60  # counts down to the end of the cool-off

    def test_lockout_is_per_username(self, make_user):
        victim, bystander = make_user("viewer"), make_user("viewer")
        self.fail(victim.username, settings.AXES_FAILURE_LIMIT)
        assert login(victim.username).status_code == 429
        assert login(bystander.username).status_code == 200

    def test_cool_off_unlocks(self, make_user):
        user = make_user("viewer")
        self.fail(user.username, settings.AXES_FAILURE_LIMIT)
        assert login(user.username).status_code == 429

        with time_machine.travel(timezone.now() + settings.AXES_COOLOFF_TIME - timedelta(seconds=30)):
            assert login(user.username).status_code == 429
        with time_machine.travel(timezone.now() + settings.AXES_COOLOFF_TIME + timedelta(seconds=5)):
            assert login(user.username).status_code == 200
