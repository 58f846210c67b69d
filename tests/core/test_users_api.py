import pytest

from core.models import User

pytestmark = pytest.mark.django_db

USERS = "/api/v1/core/users/"


def test_admin_creates_a_user_with_roles_and_the_password_is_not_echoed(admin_api):
    response = admin_api.post(
        USERS,
        {"username": "carla", "email": "carla@example.com", "password": "Str0ng-Pass-1", "roles": ["sales"]},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["roles"] == ["sales"]
    assert "password" not in body
    user = User.objects.get(username="carla")
    assert user.check_password("Str0ng-Pass-1")
    assert user.roles == ["sales"]


def test_roles_are_writable(admin_api, make_user):
    user = make_user("viewer")
    response = admin_api.patch(f"{USERS}{user.pk}/", {"roles": ["warehouse", "manager"]})
    assert response.status_code == 200
    assert response.json()["roles"] == ["manager", "warehouse"]
    assert User.objects.get(pk=user.pk).roles == ["manager", "warehouse"]


def test_unknown_role_is_a_field_error_and_nothing_is_created(admin_api):
    response = admin_api.post(USERS, {"username": "x1", "password": "Str0ng-Pass-1", "roles": ["boss"]})
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == "roles.0"
    assert not User.objects.filter(username="x1").exists()


def test_weak_password_is_rejected_with_the_validator_code(admin_api):
    response = admin_api.post(USERS, {"username": "weak", "password": "123"})
    assert response.status_code == 400
    codes = {(e["field"], e["code"]) for e in response.json()["errors"]}
    assert ("password", "password_too_short") in codes


def test_duplicate_username_is_409_case_insensitively(admin_api, make_user):
    make_user(username="dora")
    response = admin_api.post(USERS, {"username": "DORA", "password": "Str0ng-Pass-1"})
    assert response.status_code == 409
    assert response.json()["status"] == 409


def test_delete_deactivates_and_keeps_the_record(admin_api, make_user):
    user = make_user("sales")
    assert admin_api.delete(f"{USERS}{user.pk}/").status_code == 204
    user.refresh_from_db()
    assert user.is_active is False
    assert admin_api.get(f"{USERS}{user.pk}/").json()["is_active"] is False


def test_admin_cannot_lock_themselves_out(admin_api):
    me = admin_api.user
    assert admin_api.delete(f"{USERS}{me.pk}/").status_code == 409
    assert admin_api.patch(f"{USERS}{me.pk}/", {"roles": ["viewer"]}).status_code == 409
    me.refresh_from_db()
    assert me.is_active and me.roles == ["admin"]


def test_non_admins_cannot_read_or_write_users(client_as):
    for role in ("sales", "manager", "viewer", "finance", "warehouse"):
        client = client_as(role)
        assert client.get(USERS).status_code == 403
        assert client.post(USERS, {"username": f"n-{role}", "password": "Str0ng-Pass-1"}).status_code == 403


def test_list_filters_searches_orders_and_paginates(admin_api, make_user):
    for name in ("zeta", "alpha", "mid"):
        make_user("viewer", username=name)
    make_user("viewer", username="gone", is_active=False)

    page = admin_api.get(USERS, {"ordering": "username", "page_size": 2}).json()
    assert page["count"] == 5  # 4 + the admin
    assert [u["username"] for u in page["results"]] == ["alpha", "gone"]
    assert page["next"] is not None

    assert [u["username"] for u in admin_api.get(USERS, {"search": "zet"}).json()["results"]] == ["zeta"]
    inactive = admin_api.get(USERS, {"is_active": "false"}).json()["results"]
    assert [u["username"] for u in inactive] == ["gone"]


def test_page_size_above_the_maximum_is_capped_not_rejected(admin_api):
    User.objects.bulk_create(User(username=f"bulk{n:04}") for n in range(501))
    response = admin_api.get(USERS, {"page_size": 10000})
    assert response.status_code == 200
    page = response.json()
    assert page["count"] == 502  # the 501 and the admin
    assert len(page["results"]) == 500  # PageNumberPagination.max_page_size
    assert page["next"] is not None


def test_unknown_or_malformed_user_id_is_404_problem(admin_api):
    for path in (f"{USERS}00000000-0000-0000-0000-000000000000/", f"{USERS}not-a-uuid/"):
        response = admin_api.get(path)
        assert response.status_code == 404
        assert response["Content-Type"] == "application/problem+json"


def test_user_changes_are_audited_with_the_actor(admin_api, make_user):
    user = make_user("viewer")
    admin_api.patch(f"{USERS}{user.pk}/", {"email": "new@example.com"})
    latest = user.history.latest()
    assert latest.email == "new@example.com"
    assert latest.history_user_id == admin_api.user.pk


def test_demoting_a_superuser_through_roles_takes_the_superuser_flag_away(admin_api, make_user):
    root = make_user("admin", is_superuser=True, is_staff=True)
    response = admin_api.patch(f"{USERS}{root.pk}/", {"roles": ["viewer"]})
    assert response.status_code == 200, response.content
    assert response.json()["roles"] == ["viewer"]
    root.refresh_from_db()
    assert (root.is_superuser, root.is_staff, root.roles) == (False, False, ["viewer"])


def test_a_superuser_keeps_the_flag_while_it_keeps_the_admin_role(admin_api, make_user):
    root = make_user("admin", is_superuser=True, is_staff=True)
    response = admin_api.patch(f"{USERS}{root.pk}/", {"roles": ["admin", "finance"]})
    assert response.json()["roles"] == ["admin", "finance"]
    root.refresh_from_db()
    assert root.is_superuser
