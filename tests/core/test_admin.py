from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import Group

from core.models import Company, User
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_browser(client, make_user):
    admin = make_user("admin", is_staff=True, is_superuser=True)
    client.force_login(admin)
    return client


def test_admin_lists_users_with_their_roles(admin_browser, make_user):
    make_user("sales", username="vera")
    page = admin_browser.get("/admin/core/user/")
    assert page.status_code == 200
    assert b"vera" in page.content and b"sales" in page.content


def test_admin_assigns_roles_through_the_user_form(admin_browser, make_user):
    user = make_user("viewer", username="walt")
    form = admin_browser.get(f"/admin/core/user/{user.pk}/change/")
    assert form.status_code == 200
    data = {
        "username": "walt",
        "email": user.email,
        "is_active": "on",
        "groups": [Group.objects.get(name="finance").pk],
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
        "initial-date_joined_0": "2026-01-01",
        "initial-date_joined_1": "00:00:00",
    }
    response = admin_browser.post(f"/admin/core/user/{user.pk}/change/", data)
    assert response.status_code == 302, response.content[:2000]
    assert User.objects.get(pk=user.pk).roles == ["finance"]


def test_company_history_is_visible_in_admin(admin_browser):
    company = Company.objects.get()
    assert admin_browser.get(f"/admin/core/company/{company.pk}/history/").status_code == 200


def test_roles_exist_as_groups_after_migrate():
    assert set(Group.objects.values_list("name", flat=True)) >= {
        "admin",
        "sales",
        "warehouse",
        "finance",
        "manager",
        "viewer",
    }


def login(client, username: str, password: str = PASSWORD):
    return client.post(
        "/admin/login/?next=/admin/", {"username": username, "password": password, "next": "/admin/"}
    )


def test_users_cannot_be_deleted_in_the_admin(admin_browser, make_user):
    user = make_user("sales", username="xena")
    changelist = admin_browser.get("/admin/core/user/")
    assert b"delete_selected" not in changelist.content  # no bulk delete action
    form = admin_browser.get(f"/admin/core/user/{user.pk}/change/")
    assert f"/admin/core/user/{user.pk}/delete/".encode() not in form.content  # no delete button
    assert admin_browser.post(f"/admin/core/user/{user.pk}/delete/", {"post": "yes"}).status_code == 403
    assert User.objects.filter(pk=user.pk).exists()


def test_staff_without_the_admin_role_cannot_log_into_the_admin(client, make_user):
    make_user("manager", username="mona", is_staff=True)
    response = login(client, "mona")
    assert response.status_code == 200  # the form again, with an error
    assert b"admin role" in response.content
    assert client.get("/admin/").status_code == 302  # still sent to the login page


def test_a_logged_in_staff_user_without_the_role_is_not_let_in(client, make_user):
    client.force_login(make_user("manager", is_staff=True))
    response = client.get("/admin/core/user/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_the_admin_role_logs_in_without_is_staff(client, make_user):
    make_user("admin", username="ada", is_staff=False)
    response = login(client, "ada")
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_the_admin_role_without_superuser_can_manage_users(client, make_user):
    """The role, not Django's per-model permissions, decides (core/backends.py)."""
    make_user("admin", username="ada", is_staff=False, is_superuser=False)
    make_user("viewer", username="vic")
    login(client, "ada")
    index = client.get("/admin/")
    assert b"/admin/core/user/" in index.content
    users = client.get("/admin/core/user/")
    assert users.status_code == 200 and b"vic" in users.content
    vic = User.objects.get(username="vic")
    assert client.get(f"/admin/core/user/{vic.pk}/change/").status_code == 200


def test_admin_shows_times_in_the_company_timezone(admin_browser, make_user):
    Company.objects.update(timezone="Asia/Kathmandu")  # UTC+05:45, no DST
    make_user("viewer", username="tim", last_login=datetime(2026, 1, 15, 12, 0, tzinfo=UTC))
    page = admin_browser.get("/admin/core/user/", {"q": "tim"})
    assert page.status_code == 200
    assert b"Jan. 15, 2026, 5:45 p.m." in page.content  # 12:00 UTC
    assert b"Jan. 15, 2026, noon" not in page.content


def test_a_new_company_timezone_shows_on_the_next_admin_page(admin_browser, make_user):
    make_user("viewer", username="tim", last_login=datetime(2026, 1, 15, 12, 0, tzinfo=UTC))
    assert (
        b"Jan. 15, 2026, 9 a.m." in admin_browser.get("/admin/core/user/", {"q": "tim"}).content
    )  # São Paulo
    company = Company.objects.get()
    form = {
        "name": company.name,
        "tax_id": company.tax_id,
        "base_currency": company.base_currency,
        "timezone": "Asia/Tokyo",
    }
    assert admin_browser.post(f"/admin/core/company/{company.pk}/change/", form).status_code == 302
    assert b"Jan. 15, 2026, 9 p.m." in admin_browser.get("/admin/core/user/", {"q": "tim"}).content


def test_a_timezone_changed_through_the_api_shows_on_the_next_admin_page(admin_browser, admin_api, make_user):
    make_user("viewer", username="tim", last_login=datetime(2026, 1, 15, 12, 0, tzinfo=UTC))
    assert b"Jan. 15, 2026, 9 a.m." in admin_browser.get("/admin/core/user/", {"q": "tim"}).content
    assert admin_api.patch("/api/v1/core/company/", {"timezone": "Asia/Tokyo"}).status_code == 200
    assert b"Jan. 15, 2026, 9 p.m." in admin_browser.get("/admin/core/user/", {"q": "tim"}).content


def test_the_admin_refuses_what_the_api_refuses_and_changes_nothing(admin_browser):
    company = Company.objects.get()
    form = {
        "name": company.name,
        "tax_id": company.tax_id,
        "base_currency": "brl",
        "timezone": "Mars/Olympus",
    }
    page = admin_browser.post(f"/admin/core/company/{company.pk}/change/", form)
    assert page.status_code == 200  # the form again, with the errors
    assert b"three-letter ISO 4217" in page.content and b"Unknown time zone" in page.content
    company.refresh_from_db()
    assert (company.base_currency, company.timezone) != ("brl", "Mars/Olympus")
