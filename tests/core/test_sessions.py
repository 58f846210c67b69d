"""Sessions that end: after a password change or reset, a deactivation (and a
reactivation), or "log out everywhere", every access and refresh token the user
had is refused at once; a locked-out user cannot refresh."""

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from core.models import User
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

TOKEN = "/api/v1/auth/token/"
REFRESH = "/api/v1/auth/token/refresh/"
ME = "/api/v1/auth/me/"
EVERYWHERE = "/api/v1/auth/logout/everywhere/"
USERS = "/api/v1/core/users/"


def session(user, password=PASSWORD) -> dict:
    response = APIClient().post(TOKEN, {"username": user.username, "password": password}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def me(pair: dict) -> int:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {pair['access']}")
    return client.get(ME).status_code


def refresh(pair: dict):
    return APIClient().post(REFRESH, {"refresh": pair["refresh"]}, format="json")


def assert_ended(pair: dict) -> None:
    assert me(pair) == 401
    refused = refresh(pair)
    assert refused.status_code == 401
    assert refused["Content-Type"] == "application/problem+json"


def test_a_password_reset_by_an_admin_ends_every_session_of_the_user(admin_api, make_user):
    user = make_user("viewer")
    phone, laptop = session(user), session(user)
    rotated = refresh(phone).json()  # a session kept alive by rotation ends too
    reset = admin_api.patch(f"{USERS}{user.pk}/", {"password": "N3w-Secret-Pass"})
    assert reset.status_code == 200, reset.content
    for pair in (phone, laptop, rotated):
        assert_ended(pair)
    assert me(session(user, "N3w-Secret-Pass")) == 200


def test_a_password_changed_anywhere_ends_the_sessions(make_user):
    """The Django admin's form and manage.py changepassword both call set_password."""
    user = make_user("viewer")
    pair = session(user)
    user.set_password("An0ther-Secret")
    user.save()
    assert_ended(pair)


def test_deactivating_ends_the_sessions_and_reactivating_does_not_bring_them_back(admin_api, make_user):
    user = make_user("viewer")
    pair = session(user)
    assert admin_api.delete(f"{USERS}{user.pk}/").status_code == 204
    assert_ended(pair)
    assert admin_api.patch(f"{USERS}{user.pk}/", {"is_active": True}).status_code == 200
    assert_ended(pair)
    assert me(session(user)) == 200


def test_logging_out_everywhere_ends_this_and_every_other_session(make_user):
    user = make_user("viewer")
    this, other = session(user), session(user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {this['access']}")
    assert client.post(EVERYWHERE).status_code == 205
    assert_ended(this)
    assert_ended(other)
    assert me(session(user)) == 200


def test_other_users_sessions_go_on(make_user):
    user, bystander = make_user("viewer"), make_user("viewer")
    theirs = session(bystander)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {session(user)['access']}")
    client.post(EVERYWHERE)
    assert me(theirs) == 200
    assert refresh(theirs).status_code == 200


def test_a_locked_out_user_cannot_refresh(make_user):
    user = make_user("viewer")
    pair = session(user)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        APIClient().post(TOKEN, {"username": user.username, "password": "wrong"}, format="json")
    refused = refresh(pair)
    assert refused.status_code == 401
    assert refused.json()["code"] == "login_locked_out"


def test_a_refresh_token_of_a_user_that_no_longer_exists_is_a_401(make_user):
    user = make_user("viewer")
    pair = session(user)
    User.objects.filter(pk=user.pk).delete()
    assert refresh(pair).status_code == 401


def test_saving_a_user_without_a_password_change_keeps_the_sessions(make_user):
    user = make_user("viewer")
    pair = session(user)
    user = User.objects.get(pk=user.pk)
    user.first_name = "Ana"
    user.save()
    assert me(pair) == 200
    assert refresh(pair).status_code == 200


def test_an_authenticated_request_costs_no_query_for_the_user_or_the_roles(make_user):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    pair = session(make_user("viewer"))
    assert me(pair) == 200  # the first request loads the user and caches it
    with CaptureQueriesContext(connection) as queries:
        assert me(pair) == 200
    assert list(queries) == []


def test_a_role_change_shows_in_the_next_request(admin_api, make_user):
    user = make_user("viewer")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {session(user)['access']}")
    assert client.get(ME).json()["roles"] == ["viewer"]
    assert admin_api.patch(f"{USERS}{user.pk}/", {"roles": ["sales"]}).status_code == 200
    assert client.get(ME).json()["roles"] == ["sales"]
    user.groups.clear()  # from the other side of the relation too
    assert client.get(ME).json()["roles"] == []
